"""Extracts the final answer from a model-written (or reference) solution.

The answer is the content of the last complete `\\boxed{...}` or `\\fbox{...}` (nested braces
handled, escaped `\\{`/`\\}` ignored when matching). `\\boxed 5` (no braces) is accepted too.
When no complete box exists, a few textual fallbacks are tried, last occurrence first:
"Final Answer: The final answer is X", "the answer is X".

Example:
    >>> extract_answer(r"So $x = \\boxed{\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> extract_answer(r"The answer is $7$.")
    '7'
    >>> extract_answer(r"\\boxed{1") is None
    True

Everything here is a single linear scan or an anchored regular expression, so a hostile
100,000-character solution or 10,000 nested braces cost milliseconds, never a hang.
"""

from __future__ import annotations

import re

from mathft_jax.data.answers import closing_brace

_BOX_COMMANDS = ("\\boxed", "\\fbox")

# "the answer is $X$." / "Final Answer: The final answer is X. I hope it is correct."
_FALLBACK = re.compile(
    r"(?:final answer is|the answer is)\s*:?\s*(?P<ans>\$[^$\n]{1,500}\$|[^\n]{1,500}?)"
    r"\s*(?:\.\s|\.$|\n|$|I hope)",
    re.IGNORECASE)


def _box_content(text: str, start: int, command: str) -> str | None:
    """The argument of the box command beginning at `start`, or None if incomplete."""
    i = start + len(command)
    if i < len(text) and text[i].isalpha():
        return None  # e.g. `\boxedx` is a different command.
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] == "{":
        end = closing_brace(text, i)
        return None if end is None else text[i + 1:end]
    if i > start + len(command):  # `\boxed 5`: one token up to whitespace or `$`.
        m = re.match(r"[^\s$]+", text[i:])
        return m.group(0) if m else None
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last complete `\\boxed{}`/`\\fbox{}` in `text`, or None."""
    pos, command = max((text.rfind(c), c) for c in _BOX_COMMANDS)
    if pos == -1:
        return None
    return _box_content(text, pos, command)


def extract_answer(solution: str | None) -> str | None:
    """The final answer of `solution`, stripped, or None when there is none.

    Args:
      solution: LaTeX/markdown text written by a model or taken from MATH.

    Returns:
      The raw answer string (not normalised), or None if the solution has no complete box and
      no "the answer is ..." sentence, or the answer is empty.
    """
    if not solution:
        return None
    has_box = any(c in solution for c in _BOX_COMMANDS)
    if has_box:
        boxed = last_boxed(solution)
        if boxed is not None:
            boxed = boxed.strip()
            return boxed or None
        return None  # The last box is truncated: the model never finished its answer.
    answer = None
    for m in _FALLBACK.finditer(solution):
        answer = m.group("ans")
    if answer is None:
        return None
    answer = answer.strip().strip("$").strip().rstrip(".").strip()
    return answer or None
