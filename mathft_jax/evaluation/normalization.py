"""String normal form of an answer as it appears inside `\\boxed{}`.

`normalize_answer` rewrites surface variation away so that most equal answers become equal
strings and never reach sympy. The steps, in order:

1. Strip `$`, `\\displaystyle`, `\\left`/`\\right`, spacing commands (`\\,` `\\!` `\\;` `~`),
   `\\mathrm`/`\\mathbf`/`\\textbf` wrappers, `\\dfrac`/`\\tfrac` -> `\\frac`, `\\le` -> `\\leq`, etc.
2. Units and text wrappers: a trailing `\\text{ cm}` (any `\\text`/`\\mbox` after a number) and
   bare unit words (`cm`, `inches`, `dollars`, ...) are dropped; other `\\text{X}` become `X`.
   Pure-word answers of three or more letters (e.g. `\\text{Even}`) are lower-cased.
3. Degrees (`^\\circ`, `^{\\circ}`, `\\degree`, `°`), percent (`\\%`, `%`) and currency (`\\$`)
   are dropped: MATH's answers use them as decoration (`50\\%` is graded equal to `50`).
4. Thousands separators (`1,000` / `1{,}000` / `1\\,000`) are removed when the whole answer is
   one number; a trailing period or comma is removed; `x =` / `x \\in` prefixes with a single
   variable on the left are removed when the right side has no variable (`x=5` -> `5`,
   `x \\in [1,2]` -> `[1,2]`); `y = 2x+3` stays an equation, and the symbolic stage equates
   it with `2x+3`.
5. `\\frac12` -> `\\frac{1}{2}`, `\\sqrt2` -> `\\sqrt{2}`, `.5` -> `0.5`, and whitespace removed
   except between two letters (`\\sin x` keeps its space).

Example:
    >>> normalize_answer(r"x = \\dfrac{1}{2}\\text{ cm}.")
    '\\\\frac{1}{2}'
    >>> normalize_answer(r"1{,}000\\%")
    '1000'

Answers longer than `MAX_NORMALIZE_CHARS` are only stripped (they are graded by exact string
equality), which bounds the time spent here on hostile input.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction

MAX_NORMALIZE_CHARS = 10_000

_UNIT_WORDS = (
    "units?", "square units?", "sq units?", "cubic units?", "degrees?", "radians?",
    "cm", "centimeters?", "mm", "millimeters?", "m", "meters?", "km", "kilometers?",
    "inch(?:es)?", "in", "feet", "foot", "ft", "yards?", "yd", "miles?", "mi",
    "square (?:feet|inches|meters|centimeters|miles|yards|units)", "sq\\.? ?(?:ft|in|m|cm)",
    "cubic (?:feet|inches|meters|centimeters|yards|units)",
    "seconds?", "sec", "s", "minutes?", "min", "hours?", "hrs?", "days?", "weeks?", "months?",
    "years?", "dollars?", "cents?", "pounds?", "lbs?", "ounces?", "oz", "grams?", "g", "kg",
    "liters?", "gallons?", "mph", "percent", "points?", "people", "students?", "ways",
    "marbles?", "coins?", "books?", "balls?", "pages?", "toothpicks?", "handshakes?",
    "games?", "times", "steps?", "tiles?", "dots?", "squares?", "triangles?", "boxes?",
    "numbers?", "integers?", "digits?", "positive integers?", "terms?",
)
_UNIT_RE = "(?:" + "|".join(_UNIT_WORDS) + ")"
# `\text{ cm}`, `\mbox{inches}` or `\text{ square units}` at the end, after something else.
_TRAILING_TEXT_UNIT = re.compile(
    r"(?<=.)\\(?:text|mbox|textnormal|mathrm)\{\s*" + _UNIT_RE + r"(?:\^?\{?[23]\}?)?\s*\}"
    r"(?:\^\{?[23]\}?)?\s*$")
# Bare unit words need a space before them and more than one letter (`2m` may be 2*m).
_BARE_UNIT_RE = "(?:" + "|".join(w for w in _UNIT_WORDS if len(w.rstrip("?")) > 1) + ")"
_TRAILING_BARE_UNIT = re.compile(
    r"(?<=[0-9}).])\s+" + _BARE_UNIT_RE + r"(?:\^\{?[23]\}?)?\s*$")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|textit|mbox|mathrm|mathbf|mathit|textnormal"
                           r"|operatorname|boldsymbol|mathsf|mathtt)\s*\{([^{}]*)\}")
_SIMPLE_REPLACEMENTS = (
    ("\\displaystyle", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"),
    ("\\left", ""), ("\\right", ""), ("\\bigl", ""), ("\\bigr", ""), ("\\Bigl", ""),
    ("\\Bigr", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\:", ""),
    ("\\quad", " "), ("\\qquad", " "), ("~", " "), ("{,}", ","),
    ("\\lbrace", "\\{"), ("\\rbrace", "\\}"), ("\\lbrack", "["), ("\\rbrack", "]"),
    ("\\varnothing", "\\emptyset"), ("\\varpi", "\\pi"),
    ("\\leqslant", "\\leq"), ("\\geqslant", "\\geq"),
    ("\\dots", "\\ldots"), ("\\cdots", "\\ldots"),
    ("\\to", "\\rightarrow"),
)
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|°")
_LE_GE = re.compile(r"\\(le|ge|ne)(?![a-zA-Z])")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_VAR_PREFIX = re.compile(
    r"^(?:[a-zA-Z]|\\[a-zA-Z]+|[a-zA-Z]_\{?\w\}?|[a-zA-Z]\([a-z]\))\s*(?:=|\\in(?![a-zA-Z]))\s*(.+)$")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_HAS_VARIABLE = re.compile(r"[a-zA-Z]")
_FRAC_SHORT = re.compile(r"\\frac\s*(\d)\s*(\d)")
_FRAC_HALF_SHORT_NUM = re.compile(r"\\frac\s*(\d)\s*\{")
_FRAC_HALF_SHORT_DEN = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_SQRT_SHORT = re.compile(r"\\sqrt\s*([0-9a-zA-Z])")
_LEADING_DOT = re.compile(r"(?<![0-9])\.(\d)")
_WORDS_ONLY = re.compile(r"^[a-zA-Z][a-zA-Z ]*[a-zA-Z]$")
_OPTION = re.compile(r"^\(([A-Ea-e])\)$")
# Fast rational parse: integers, decimals, `a/b`, `\frac{a}{b}`, mixed `2\frac{1}{2}`.
_INT_OR_DEC = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_SLASH = re.compile(r"^([+-]?\d+)/(\d+)$")
_FRAC = re.compile(r"^([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}$")
_MIXED = re.compile(r"^([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$")
_MAX_FAST_DIGITS = 200


def _strip_text_wrappers(s: str) -> tuple[str, bool]:
    had_text = False
    for _ in range(10):  # Nested wrappers, innermost first; bounded.
        new = _TEXT_WRAPPER.sub(lambda m: m.group(1), s)
        if new == s:
            break
        had_text = True
        s = new
    return s, had_text


def _collapse_spaces(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    # Keep a space only between two letters (`\sin x`, `a b`), remove it elsewhere.
    return re.sub(r"(?<![a-zA-Z]) | (?![a-zA-Z])", "", s)


@functools.lru_cache(maxsize=200_000)
def normalize_answer(answer: str) -> str:
    """Returns the string normal form of `answer` (see the module docstring)."""
    s = answer.strip()
    if len(s) > MAX_NORMALIZE_CHARS:
        return s
    s = s.replace("\\$", "").replace("$", "").replace("\n", " ").rstrip(" .")
    s = _TRAILING_TEXT_UNIT.sub("", s).strip()
    for old, new in _SIMPLE_REPLACEMENTS:
        s = s.replace(old, new)
    s = _LE_GE.sub(r"\\\1q", s)
    s = re.sub(r"(?<!\\)\\ ", " ", s)  # `\ ` is a space; `\\ ` is a row break.
    s = _DEGREES.sub("", s)
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "")
    s, had_text = _strip_text_wrappers(s)
    s = re.sub(r"\s+(?:or|and)\s+", ",", s)
    s = s.strip()
    if len(s) > 1:
        s = _TRAILING_BARE_UNIT.sub("", s).strip()
    s = s.rstrip(".,;").strip()
    s = s.rstrip("\\").strip()
    m = _VAR_PREFIX.match(s)
    if m and "=" not in m.group(1) and not _HAS_VARIABLE.search(_COMMAND.sub("", m.group(1))):
        s = m.group(1)  # `x = 5` -> `5`; `y = 2x+3` stays an equation (see symbolic.py).
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    s = _FRAC_HALF_SHORT_NUM.sub(r"\\frac{\1}{", s)
    s = _FRAC_HALF_SHORT_DEN.sub(r"\\frac\1{\2}", s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _collapse_spaces(s)
    s = _LEADING_DOT.sub(r"0.\1", s)
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    m = _OPTION.match(s)
    if m:
        s = m.group(1).upper()
    if _WORDS_ONLY.match(s) and len(s) >= 3:
        s = s.lower()
    if s.startswith("+"):
        s = s[1:]
    return s


def _too_long(*parts: str) -> bool:
    return sum(len(p) for p in parts) > _MAX_FAST_DIGITS


@functools.lru_cache(maxsize=200_000)
def as_rational(normal: str) -> Fraction | None:
    """The exact rational value of a normalised answer, or None if it is not a plain number.

    Handles integers, decimals (exactly: `0.1` is 1/10), `a/b`, `\\frac{a}{b}` with an optional
    sign, and mixed numbers (`2\\frac{1}{2}` = 5/2, MATH's convention).

    Example:
        >>> as_rational(r"-\\frac{3}{6}")
        Fraction(-1, 2)
    """
    if not normal or len(normal) > _MAX_FAST_DIGITS:
        return None
    try:
        if _INT_OR_DEC.match(normal):
            return Fraction(normal)
        m = _SLASH.match(normal)
        if m:
            return Fraction(int(m.group(1)), int(m.group(2))) if int(m.group(2)) else None
        m = _FRAC.match(normal)
        if m:
            num, den = int(m.group(2)), int(m.group(3))
            if den == 0:
                return None
            value = Fraction(num, den)
            return -value if m.group(1) == "-" else value
        m = _MIXED.match(normal)
        if m:
            whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
            if den == 0:
                return None
            value = whole + Fraction(num, den)
            return -value if m.group(1) == "-" else value
    except (ValueError, ZeroDivisionError):
        return None
    return None
