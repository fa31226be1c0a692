r"""Extracts the final answer from a model-written (or reference) solution.

Rules, first that applies wins (the "extraction order"):

0. A chat template's turn marker (`<|im_end|>`, `<|im_start|>`, `<|eot_id|>`,
   `<end_of_turn>`, `</s>`...) ends the answer: the text after the first one that follows
   some text is another turn (`... is 2/3. <|im_start|>user ...`). Markers before any text go.
1. JSON-escaped text (`\\boxed`, `\\frac`: every command written with two backslashes) is
   un-escaped first.
2. Boxes (`data.answers.boxes`, the package's one box extractor): the content of the last
   `\boxed{}`/`\fbox{}`. Boxes right before it, separated only by commas, `and`, `or` or other
   non-words (`\boxed{35 cm} + \boxed{4}`), join it as one comma list; repeats of the same
   content count once. An unclosed last box means a cut-off text: no answer (None).
   Boxes joined by `or` are alternative forms of one answer: the last counts. Exception: a
   "final answer" cue after the last box, followed by a math span or a short answer, restates
   the answer and wins (`... = \boxed{255}$ ... The final answer is $10,455$.`: the boxes were
   intermediate results).
3. A cue, last occurrence: "final answer is", "the answer is", "Final Answer:", "Answer:",
   "Answer" followed by math or text: the first math span after it (`$..$`, `$$..$$`,
   `\(..\)`, `\[..\]`; an opening quote skipped) with the spans listed right after it
   (`"$12$ and $13$"` -> `12,13`), else the text up to the end of its sentence.
4. A concluding sentence after the last math span, opening with "Therefore", "Thus",
   "Hence", "In conclusion" or "In summary" and holding a number: its short answer or its
   last number (`... $d = \frac{90}{n}$ ... Therefore, there are 12 sequences.` -> `12`).
   Else the last math span of the text (`$..$` and `\(..\)` stay on one line; `$$..$$`,
   `\[..\]` may span lines).
5. A short text that is not prose (at most 150 characters, no word of four or more letters
   besides units, plain-text math names (`sqrt`, `pi`, `inf`...), `\text{}` and environment
   names, fewer than three short words, not opening with two words): the whole text, e.g.
   `10 square units`, `1 1/2`, `2*sqrt(3)`, a bare matrix.
6. The last number of the text (not glued to a preceding letter: `AZYUK2A` has none), with
   thousands separators (`1,000.99`) or a decimal comma (`2,74` in prose; `1000,99`, `0,111`
   as a whole text); a fraction `2/3` is one number (a number right after a `/` is a
   denominator, never a number of its own), and a percent sign after it stays (`100%`).

`extract_answer(text, math_only=True)` keeps rules 0 to 3 and the last math span of rule 4:
only a box or a math span can be the answer (a cue's sentence, a concluding sentence, a short
text and a last number are not), as math-verify extracts with its LaTeX target alone
(`LatexExtractionConfig` without `ExprExtractionConfig`): `Answer $ \n 9 \n $` has no answer
(an inline span stays on one line), `Answer $$ \n 9 \n $$` has `9`.

Markdown emphasis around the answer or its cue goes (`**Final Answer:** **5**` -> `5`).

Example:
    >>> extract_answer(r"So $x = \boxed{\frac{1}{2}}$.")
    '\\frac{1}{2}'
    >>> extract_answer(r"The answer is $7$.")
    '7'
    >>> extract_answer(r"\boxed{1") is None
    True
    >>> extract_answer("the number is 1,000.99 euros")
    '1000.99'

Everything here is a linear scan or an anchored regular expression over at most
`MAX_EXTRACT_CHARS` characters of the tail of the text, so hostile input costs milliseconds.
"""

from __future__ import annotations

import re

from mathft_jax.data.answers import boxes
from mathft_jax.evaluation.normalization import UNIT_WORDS, undouble_backslashes

MAX_EXTRACT_CHARS = 20_000
# Between two boxes (or math spans) that form one answer: separators, `and`, a short
# `\text{}`, a name (`y_2 =`); nothing else (`\boxed{1.5}$ or $\boxed{\frac32}` are two
# forms of one answer: the last counts).
_GAP = re.compile(r"^(?:[\s$,;+&:]|\\[()]|\\q?quad|\\text\{\s*(?!or\b)[^{}\n]{0,30}\}|\band\b"
                  r"|[a-zA-Z](?:_\{?\w+\}?)?\s*=)*$")
# Between math spans `or` lists answers too (`$21,16$ or $11$`).
_SPAN_GAP = re.compile(r"^(?:[\s,;]|\b(?:and|or)\b)*$")
# Markdown emphasis may wrap the cue, its colon or the answer: `**Final Answer:** 5`.
_CUE = re.compile(r"(?:final answer(?: is)?|the answer is|\banswer(?: is)?)\**\s*[:：]?\s*\**\s*",
                  re.IGNORECASE)
_SPAN = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<!\\)\$((?:\\\$|[^$\n])+?)\$|\\\(([^\n]+?)\\\)",
                   re.DOTALL)
_SENTENCE = re.compile(r"^(.{1,200}?)(?:\.\s|\.$|\n|$|I hope)", re.DOTALL)
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{4,}")
_TEXT_ARG = re.compile(r"\\(?:text|mbox|mathrm|textbf|begin|end)\{[^{}]*\}")
_SHORT_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,3}(?![a-zA-Z])")
_TWO_WORDS = re.compile(r"^[A-Za-z]+\s+[A-Za-z]+\s")  # `the number is 5` is a sentence
# Math delimiters, markdown emphasis and a sentence's full stop around an answer, in any
# order: `$5$.`, `5.$`, `**5**.` (not the star of a conjugate, `z^*`).
_EDGES = re.compile(r"^[\s$*]+|(?<!\^)[\s$.*]+$")
# `1000,99` and `0,111` (never `-2,1` or `3,12`, which are lists).
_DECIMAL_COMMA = re.compile(r"-?(?:\d{4,},\d{1,2}|0,\d+)")
_PROSE_DECIMAL_COMMA = re.compile(r"-?(?:\d+,\d{1,2}|0,\d+)")  # `2,74` inside a sentence
_UNIT_WORD = re.compile(r"^(?:" + "|".join(UNIT_WORDS) + r"|percent(?:age)?|square|cubic"
                        # plain-text math: `sqrt(2)`, `2*pi`, `(3, inf)`, `log(x)`
                        r"|sqrt|cbrt|pi|inf|infinity|sin|cos|tan|cot|sec|csc|log|ln|exp)$",
                        re.IGNORECASE)
_NUMBER = re.compile(r"(?<![A-Za-z0-9.,/])-?(?:\d+/\d+(?![\d/])|\d{1,3}(?:,\d{3})+(?:\.\d+)?"
                     r"|\d+,\d{1,2}(?!\d)|0,\d+|\d+(?:\.\d+)?|\.\d+)(?:\\?%)?")
# A chat template's turn markers: a model that writes one has ended its answer (`... is 5.
# <|im_start|>user ...`: the next turn is no part of it).
_TURN_END = re.compile(r"<\|(?:im_end|im_start|endoftext|eot_id|end|user|assistant)\|>"
                       r"|<(?:end|start)_of_turn>|</s>")
_OPEN_QUOTE = re.compile(r'(?:\\?"|“|``)\s*')  # `the answer is "$5$"`
# After the last box, only an explicit "final answer" cue restates the answer.
_FINAL_CUE = re.compile(r"final answer(?: is)?\**\s*[:：]?\s*\**\s*", re.IGNORECASE)
# A concluding sentence: `Therefore, there are 12 sequences.`
# (`[ \t]*`, not `\s*`: in a run of newlines every position would start a scan to its end.)
_CONCLUSION = re.compile(r"(?:^|(?<=[.!?\n]))[ \t]*(?:Therefore|Thus|Hence|In conclusion"
                         r"|In summary)\b,?\s*")


def _joined_boxes(text: str) -> str | None:
    """Rule 2: the last box, with the boxes that directly precede it, or None; a "final
    answer" cue after the last box overrides it."""
    found = [(b.start, b.end, b.content) for b in boxes(text)]
    if not found or found[-1][2] is None:
        return None
    return _after_last_box(text, found[-1][1]) or _join_last(text, found, _GAP)


def _join_last(text: str, found: list[tuple[int, int, str | None]], gap: re.Pattern
               ) -> str | None:
    """The last item's content, with the items that directly precede it (only `gap` text
    between them) as a comma list."""
    group = [found[-1]]
    for item in reversed(found[:-1]):
        if item[2] is None or not gap.match(text[item[1]:group[0][0]]):
            break
        group.insert(0, item)
    contents = list(dict.fromkeys(c.strip() for _, _, c in group if c and c.strip()))
    return ",".join(contents) if contents else None


def _span_text(m: re.Match) -> str:
    return next(g for g in m.groups() if g is not None)


def _last_match(pattern: re.Pattern, text: str, start: int = 0) -> re.Match | None:
    last = None
    for last in pattern.finditer(text, start):
        pass
    return last


def _after_cue(text: str, cue: re.Pattern = _CUE, math_only: bool = False) -> str | None:
    """Rule 3: the answer following the last cue phrase, or None."""
    last = _last_match(cue, text)
    if last is None:
        return None
    return _stated(text[last.end():], math_only=math_only)


def _stated(rest: str, prose_number: bool = True, math_only: bool = False) -> str | None:
    """What a cue or a concluding word states: the math span right after it (opening quotes
    skipped) with the spans listed right after that one (`$12$ and $13$`), else (unless
    `math_only`) its sentence when that is a short answer, else (if `prose_number`) the
    sentence's last number."""
    quoted = _OPEN_QUOTE.match(rest)
    start = quoted.end() if quoted else 0
    if _SPAN.match(rest, start):
        found = []
        for span in _SPAN.finditer(rest, start):
            if found and not _SPAN_GAP.match(rest[found[-1][1]:span.start()]):
                break
            found.append((span.start(), span.end(), _span_text(span)))
        return _join_last(rest, found, _SPAN_GAP)
    if math_only:
        return None
    m = _SENTENCE.match(rest)
    if m is None:
        return None
    sentence = m.group(1).strip()
    if _is_short_answer(sentence):
        return sentence
    return _last_number(sentence) if prose_number else None


def _after_last_box(text: str, box_end: int) -> str | None:
    """Rule 2's exception: a "final answer" cue after the last box restates the answer when
    a math span or a short answer follows it (a number inside prose does not)."""
    last = _last_match(_FINAL_CUE, text, box_end)
    answer = _stated(text[last.end():], prose_number=False) if last else None
    return answer if answer and any(ch.isalnum() for ch in answer) else None


def _conclusion(text: str) -> str | None:
    """Rule 4's exception: a concluding sentence (`Therefore, ...`, `Thus ...`) after the last
    math span states the answer: its short answer or its last number, or None."""
    last_span = _last_match(_SPAN, text)
    tail = text[last_span.end():] if last_span else text
    last = _last_match(_CONCLUSION, tail)
    if last is None:
        return None
    answer = _stated(tail[last.end():])
    return answer if answer and any(ch.isdigit() for ch in answer) else None


def _last_span(text: str) -> str | None:
    found = [(m.start(), m.end(), _span_text(m)) for m in _SPAN.finditer(text)]
    return _join_last(text, found, _SPAN_GAP) if found else None


def _is_short_answer(text: str) -> bool:
    """Rule 5: a short answer, not prose (see the module docstring)."""
    if len(text) > 150:
        return False
    bare = _TEXT_ARG.sub(" ", text)
    words = _PROSE_WORD.findall(bare)
    short = [w for w in _SHORT_WORD.findall(bare) if not _UNIT_WORD.match(w)]
    return (all(_UNIT_WORD.match(w) for w in words) and len(short) < 3
            and not _TWO_WORDS.match(text))


def _before_turn_end(text: str) -> str:
    """Rule 0: the text between the markers that open it (`<|im_start|>`) and the first
    chat-template turn marker after some text."""
    seen = 0  # the text before `seen` is blank or markers only
    for m in _TURN_END.finditer(text):
        if text[seen:m.start()].strip():
            return text[seen:m.start()]
        seen = m.end()
    return text[seen:]


def _last_number(text: str) -> str | None:
    last = _last_match(_NUMBER, text)
    if last is None:
        return None
    number = last.group(0)
    percent = number[len(number.rstrip("\\%")):]  # `50%`, `50\%`: the sign stays
    number = number[:len(number) - len(percent)]
    if _PROSE_DECIMAL_COMMA.fullmatch(number):
        return number.replace(",", ".") + percent  # a decimal comma
    return number.replace(",", "") + percent


def extract_answer(solution: str | None, math_only: bool = False) -> str | None:
    """The final answer of `solution`, stripped, or None when there is none.

    Args:
      solution: LaTeX/markdown text written by a model or taken from MATH, or a bare answer.
      math_only: only a box or a math span can be the answer (see the module docstring).

    Returns:
      The raw answer string (not normalised; see the module docstring for the rules), or None
      if no rule finds a non-empty answer.
    """
    if not solution:
        return None
    text = undouble_backslashes(solution[-MAX_EXTRACT_CHARS:])
    text = _before_turn_end(text)
    if "\\boxed" in text or "\\fbox" in text:
        answer = _joined_boxes(text)
    elif math_only:
        answer = _after_cue(text, math_only=True) or _last_span(text)
    else:
        answer = _after_cue(text)
        if not answer or not any(ch.isalnum() for ch in answer):
            answer = _conclusion(text) or _last_span(text)
        if not answer:
            stripped = text.strip()
            if _DECIMAL_COMMA.fullmatch(stripped):
                stripped = stripped.replace(",", ".")
            answer = stripped if _is_short_answer(stripped) else _last_number(text)
    if answer is None:
        return None
    return _EDGES.sub("", answer) or None
