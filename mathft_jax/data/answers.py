r"""Gold-answer extraction from reference solutions: the last `\boxed{...}` or `\fbox{...}`.

MATH reference solutions put the final answer in the last box. Braces inside the box nest
(`\boxed{\frac{1}{2}}`), and escaped braces `\{`/`\}` are literal text, not grouping.

Example:
    >>> last_boxed_content(r"so $x=\boxed{\frac{1}{2}}$ and $\fbox{3}$")
    '3'
    >>> last_boxed_content(r"$\boxed 5$.")
    '5'
    >>> last_boxed_content("no box") is None
    True

This is the small helper the data pipeline needs; the grader's full answer extraction (with
textual fallbacks for model output) lives in `mathft_jax.evaluation`.
"""

from __future__ import annotations

import re

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


def closing_brace(text: str, open_pos: int) -> int | None:
    """Index of the `}` matching the `{` at `open_pos`, skipping escaped braces; None if open."""
    depth = 0
    i = open_pos
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2  # `\{`, `\}` and `\\` are literal characters, never grouping
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def last_boxed_content(text: str) -> str | None:
    r"""Returns the stripped content of the last complete `\boxed`/`\fbox` in `text`, or None.

    Forms accepted: `\boxed{...}` (nested braces), `\fbox{...}`, and the brace-less
    `\boxed 5` (content up to the next whitespace or `$`). An unclosed last box is skipped
    in favour of the previous complete one.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    for match in reversed(list(_BOX.finditer(text))):
        pos = match.end()
        while pos < len(text) and text[pos] == " ":
            pos += 1
        if pos < len(text) and text[pos] == "{":
            end = closing_brace(text, pos)
            if end is not None:
                return text[pos + 1:end].strip()
            continue
        bare = re.match(r"[^\s$]+", text[pos:])
        if bare and match.end() < pos:  # `\boxed 5` needs the space separator
            return bare.group(0).rstrip(".,")
    return None
