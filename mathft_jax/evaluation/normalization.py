"""String normal form of an answer as it appears inside `\\boxed{}`.

`normalize_answer` rewrites surface variation away so that most equal answers become equal
strings and never reach sympy. The steps, in order:

1. JSON-escaped text is un-escaped (`\\\\frac` -> `\\frac`); `$`, `\\$`, `€` go; markdown
   emphasis around the whole answer goes (`**5**`, `*5*`); a multiple-choice letter (`(C)`,
   `C. x = 42`) is the answer; `x \\approx 11` -> `11` and any other `\\approx ...` tail is
   dropped; LaTeX thousands separators (`11,\\! 111`, `14{,}916`)
   become plain commas; `\\times 10^` -> `\\cdot10^`; inside a trig function `90^\\circ`
   becomes `(90\\pi/180)`.
2. Spelling: `\\displaystyle`, `\\left`/`\\right`, spacing commands (`\\,` `\\!` `\\;` `~`)
   go; `\\dfrac`/`\\tfrac`/`\\cfrac` -> `\\frac`; `\\le`, `<=`, `≤` -> `\\leq` (and the
   `\\geq`, `\\neq` families), `\\lt`/`\\gt` -> `<`/`>`, `**` -> `^`. Plain-text and programming
   syntax becomes LaTeX: `sqrt(x+1)` -> `\\sqrt{x+1}`, `2^(-1)` -> `2^{-1}`, `sin(x)` ->
   `\\sin(x)`, `pi` -> `\\pi`, `inf`/`infinity`/`∞` -> `\\infty`, `2*x` -> `2\\cdot x`;
   `+\\infty` -> `\\infty`.
3. Units and text: a trailing `\\text{ cm}` (any unit), any trailing `\\text{ words}` after a
   number, and bare unit words (`cm`, `weeks`, `percent`, `pct`, ...; after a space, also
   after `\\pi`: `2\\pi cm`, or glued when three letters or more: `10weeks` but not `10cm`)
   are dropped; ordinal suffixes after a number go (`12^{\\text{th}}`, `12th`); other
   `\\text{X}` become `X`; pure-word answers of three or more letters are lower-cased.
   Degrees, percent and currency signs are dropped: MATH uses them as decoration (`50\\%`
   equals `50`). (`equivalence.Grader(percent=...)` can read a percent as its value too: it
   marks the normal form of a one-value answer written with a percent sign, see
   `percent_marked`.)
4. Separators of several answers (`;`, ` or `, ` and `, `\\text{ and }`, `\\quad`) become
   commas; `{1, 2}` becomes the set `\\{1,2\\}`; `a \\pm b` becomes the list `a+b,a-b`.
5. Names: `x =`, `x_1 =`, `\\theta =`, `(p,q) =`, `|AB| =`, `V_1:V_2 =`, `x \\in`, labels
   (`\\angle ABC =`, `m\\angle B =`, `\\overline{AB} =`, a word: `Area =`) are removed when the
   right side names no variable, per item of a list (`x = 1, x = 2` -> `1,2`) except when the
   items name distinct variables: `x = 2; y = 3` -> `x=2,y=3` (named solutions, see
   `structure.Named`), or several solutions of the same names in turn: `p=5, q=2; p=7, q=2`
   -> `p=5,q=2,p=7,q=2` (`structure.named_groups`); `f(x) =` always (`f(x) = 2x+3` ->
   `2x+3`); a chain `x = 5+5+1 = 11` keeps its last side when that is a constant and the
   chain is one line (not `a = 1 = b`, nor equations separated by `\\\\` or in an
   environment), and a computation `\\frac{1}{2}\\cdot 20 = 10` its result. `y = 2x+3`
   stays an equation (the symbolic stage equates it with `2x+3`).
6. Relations on one variable become intervals: `-2 \\leq x \\leq 7` -> `[-2,7]`,
   `x > 2` -> `(2,\\infty)`, `5 \\geq x` -> `(-\\infty,5]`, `-x > -1` -> `(-\\infty,1)`.
7. Numbers: `1 1/2` -> `1\\frac{1}{2}`; thousands separators (`1,000`, `1 000`) go when the
   whole answer is one number (`32, 349` with a space is a list); `2^6 3^5` -> `2^6\\cdot 3^5`;
   `\\frac12` -> `\\frac{1}{2}`, `\\sqrt2` -> `\\sqrt{2}`, `_{7}` -> `_7`, `.5` -> `0.5`; clock
   times with seconds or AM/PM -> 24-hour `HH:MM`; a matrix in brackets loses them; whitespace
   goes except between two letters (`\\sin x` keeps its space).

Example:
    >>> normalize_answer(r"x = \\dfrac{1}{2}\\text{ cm}.")
    '\\\\frac{1}{2}'
    >>> normalize_answer(r"1{,}000\\%")
    '1000'

Answers longer than `MAX_NORMALIZE_CHARS` are only stripped (they are graded by exact string
equality), which bounds the time spent here on hostile input.
"""

from __future__ import annotations

import decimal
import functools
import re
from fractions import Fraction

MAX_NORMALIZE_CHARS = 10_000

UNIT_WORDS = (
    "units?", "square units?", "sq units?", "cubic units?", "degrees?", "radians?",
    "cm", "centimeters?", "mm", "millimeters?", "m", "meters?", "km", "kilometers?",
    "inch(?:es)?", "in", "feet", "foot", "ft", "yards?", "yd", "miles?", "mi",
    "square (?:feet|inches|meters|centimeters|miles|yards|units)", "sq\\.? ?(?:ft|in|m|cm)",
    "cubic (?:feet|inches|meters|centimeters|yards|units)",
    "seconds?", "sec", "s", "minutes?", "min", "hours?", "hrs?", "days?", "weeks?", "months?",
    "years?", "dollars?", "cents?", "pounds?", "lbs?", "ounces?", "oz", "grams?", "g", "kg",
    "liters?", "gallons?", "mph", "percent(?:age)?", "pct", "points?", "people", "students?",
    "ways", "marbles?", "coins?", "books?", "balls?", "pages?", "toothpicks?", "handshakes?",
    "games?", "times", "steps?", "tiles?", "dots?", "squares?", "triangles?", "boxes?",
    "numbers?", "integers?", "digits?", "positive integers?", "terms?", "euros?",
)
_UNIT_RE = "(?:" + "|".join(UNIT_WORDS) + ")"
_POWER = r"(?:\^\{?[23]\}?|²|³)?"
# `\text{ cm}`, `\mbox{inches}` or `\text{ square units}` at the end, after something else.
_TRAILING_TEXT_UNIT = re.compile(
    r"(?<=.)\\(?:text|mbox|textnormal|mathrm|textbf)\{\s*" + _UNIT_RE + r"\s*" + _POWER +
    r"\s*\}" + _POWER + r"\s*$")
# Any other trailing `\text{ words}` after a number (`17\text{ any text}`).
_TRAILING_TEXT_WORDS = re.compile(r"(?<=[0-9}])\s*\\(?:text|mbox)\{(?!\s*[AaPp]\.?\s*[Mm]\.?\s*\})"
                                  r"\s*[a-zA-Z][a-zA-Z .]*\}\s*$")
# Bare unit words need a space before them, or three or more letters (`10weeks`); `10m`
# and `10cm` may be products and keep their letters.
_BARE_UNIT_RE = "(?:" + "|".join(w for w in UNIT_WORDS if len(w.rstrip("?")) > 1) + ")"
_LONG_UNIT_RE = "(?:" + "|".join(w for w in UNIT_WORDS if len(w.rstrip("?")) > 2) + ")"
_TRAILING_BARE_UNIT = re.compile(
    r"(?:(?<=[0-9}).])\s+" + _BARE_UNIT_RE + r"|(?<=[0-9])" + _LONG_UNIT_RE +
    r"|(?<=\\pi)\s+" + _BARE_UNIT_RE + r")" + _POWER + r"\s*$")  # `2\pi cm`
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|textit|mbox|mathrm|mathbf|mathit|textnormal"
                           r"|operatorname|boldsymbol|mathsf|mathtt|textrm|bf|it)\s*\{([^{}]*)\}")
_SIMPLE_REPLACEMENTS = (
    ("\\displaystyle", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\cfrac", "\\frac"),
    ("\\left", ""), ("\\right", ""), ("\\bigl", ""), ("\\bigr", ""), ("\\Bigl", ""),
    ("\\Bigr", ""), ("\\big", ""), ("\\Big", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""),
    ("\\:", ""), ("~", " "), ("{,}", ","),
    ("\\lbrace", "\\{"), ("\\rbrace", "\\}"), ("\\lbrack", "["), ("\\rbrack", "]"),
    ("\\varnothing", "\\emptyset"), ("\\varpi", "\\pi"),
    ("\\leqslant", "\\leq"), ("\\geqslant", "\\geq"), ("≤", "\\leq"), ("≥", "\\geq"),
    ("≠", "\\neq"), (">=", "\\geq"), ("<=", "\\leq"), ("!=", "\\neq"), ("\\lt", "<"),
    ("\\gt", ">"), ("\\dots", "\\ldots"), ("\\cdots", "\\ldots"), ("\\to", "\\rightarrow"),
("**", "^"), ("\\cdot", "\\cdot "), ("−", "-"),
    ("\\mathrm{e}", "e"), ("\\operatorname{e}", "e"), ("∞", "\\infty"), ("√", "sqrt"),
)
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|°")
_LE_GE = re.compile(r"\\(le|ge|ne)(?![a-zA-Z])")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
# Named answers: `x =`, `x_1 =`, `f(x) =`, `\theta =`, `(p,q) =`, `|AB| =`, `AB =`,
# `V_1:V_2 =`, `x \in`: removed when what follows names no variable (`x = 5` -> `5`).
_NAME = (r"(?:[a-zA-Z](?:_\{?\w+\}?)?(?:'+)?|\\[a-zA-Z]+(?:_\{?\w+\}?)?|[A-Z]{2,3}|\|[A-Za-z]{1,3}\|"
         r"|[a-zA-Z]\([a-z]\)|\((?:[a-zA-Z](?:_\w)?,)+[a-zA-Z](?:_\w)?\)"
         r"|[A-Za-z](?:_\{?\w+\}?)?(?::[A-Za-z](?:_\{?\w+\}?)?)+"
         r"|\\frac\{[A-Z]{1,3}\}\{[A-Z]{1,3}\}"
         # Geometric labels and words: `\angle ABC`, `m\angle B`, `\overline{AB}`, `Area`.
         r"|(?:m\s*)?\\(?:angle|measuredangle|triangle)\s*\{?[A-Z]{1,3}\}?"
         r"|\\(?:overline|overarc|widehat|arc)\{[A-Z]{1,3}\}|[A-Za-z]{4,})")
_VAR_PREFIX = re.compile(r"^" + _NAME + r"\s*(?:=|\\in(?![a-zA-Z]))\s*(.+)$")
_FUNCTION_PREFIX = re.compile(r"^[a-zA-Z]\(([a-z])\)\s*=\s*(.+)$")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_NOT_A_CHAIN = (",", "<", ">", "\\leq", "\\geq", "\\\\", "&", "\\begin")
_HAS_VARIABLE = re.compile(r"[a-zA-Z]")
_FRAC_SHORT = re.compile(r"\\frac\s*(\d)\s*(\d)")
_FRAC_HALF_SHORT_NUM = re.compile(r"\\frac\s*(\d)\s*\{")
_FRAC_HALF_SHORT_DEN = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_SQRT_SHORT = re.compile(r"\\sqrt\s*([0-9a-zA-Z])")
_SUBSCRIPT_BRACE = re.compile(r"_\{(\w)\}")
_LEADING_DOT = re.compile(r"(?<![0-9])\.(\d)")
_POWER_THEN_NUMBER = re.compile(r"(\^\{?\d+\}?)\s+(?=\d)")
_MIXED_SLASH = re.compile(r"^(-?)(\d+)\s+(\d+)/(\d+)$")
_WORDS_ONLY = re.compile(r"^[a-zA-Z][a-zA-Z ]*[a-zA-Z]$")
_OPTION = re.compile(r"^\(?([A-E])(?:\)|\.\s.*|:\s.*)?$")
_REVERSED_ONE_SIDED = re.compile(r"^([^<>=]+?)(<|>|\\leq|\\geq) ?([a-zA-Z])$")
_NEGATED_ONE_SIDED = re.compile(r"^-([a-zA-Z]) ?(<|>|\\leq|\\geq) ?(.+)$")
_FLIP = {"<": ">", ">": "<", "\\leq": "\\geq", "\\geq": "\\leq"}
_APPROX = re.compile(r"\s*(?:\\approx|\\sim|≈).*$")
_NAMED_APPROX = re.compile(r"^\s*[a-zA-Z]\s*(?:\\approx|≈)\s*(.+)$")
_LATEX_THOUSANDS = re.compile(r"(?<=\d)\s*(?:,\\!|\{\s*,\s*\})\s*(?=\d{3})")
_TRIG_DEGREES = re.compile(r"(\d+)\s*\^\s*\{?\s*\\circ\s*\}?")
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)")
_WRAPPED_MATRIX = re.compile(r"^[(\[](\\begin\{(\w+)\}.*\\end\{\2\})[)\]]$", re.DOTALL)
_SCI_TIMES = re.compile(r"\\times\s*10\s*\^")
_SEPARATORS = re.compile(r"\s*(?:\\text\{\s*(?:and|or)\s*\}|\\quad|\\qquad|;)\s*|\s+(?:or|and)\s+"
                         r"|(?<=[)\]])\s*(?:or|and)\s*(?=[(\[])")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?\s*(?:([AaPp])\.?\s*[Mm]\.?)?$")
_PLUS_MINUS = re.compile(r"^(.*?)\\(?:pm|mp)(.+)$")
# Chained and one-sided inequalities on one variable become intervals.
_REL = r"(<|>|\\leq|\\geq)"
_LONE_VAR = r"(?:[a-zA-Z]|[a-zA-Z]\([a-z]\))"
_CHAIN = re.compile(r"^([^<>=\\]*(?:\\(?!leq|geq)[^<>=\\]*)*)" + _REL + " ?" + _LONE_VAR + _REL +
                    r" ?(.+)$")
_ONE_SIDED = re.compile(r"^" + _LONE_VAR + _REL + r" ?(.+)$")
_DOUBLED_COMMAND = re.compile(r"(?<!\\)\\\\(?=[a-zA-Z]{2,})")
# Markdown emphasis around the whole answer: `**5**`, `*5*`, `__5__`.
_EMPHASIS = re.compile(r"^(\*{1,3}|__)(?!\s)(.+?)(?<!\s)\1$")
# Plain-text and programming syntax: `sqrt(2)`, `pi`, `inf`, `sin(x)`, `2*x`.
_PLAIN_SQRT = re.compile(r"(?<![\\a-zA-Z])sqrt\s*(?=[(\d])")
_PAREN_EXPONENT = re.compile(r"\^\s*(?=\()")
_PLAIN_FUNCTION = re.compile(r"(?<![\\a-zA-Z])(sin|cos|tan|cot|sec|csc|log|ln|exp)(?=\s*\()")
_PLAIN_CONSTANT = re.compile(r"(?<![\\a-zA-Z])(?:(pi)|infinity|inf|oo)(?![a-zA-Z])")
_MAX_PLAIN_CALLS = 50
_PRODUCT_STAR = re.compile(r"(?<!\^)(?<!\^\{)\*")
_PLUS_INFINITY = re.compile(r"(^|[,(\[])\s*\+\s*(?=\\infty)")
# Ordinal suffixes after a number: `12^{th}` (`\text{th}` already unwrapped), `12th`, `1st`.
_ORDINAL = re.compile(r"(?<=\d)\s*(?:\^\s*\{?\s*(?:st|nd|rd|th)\s*\}?|(?:st|nd|rd|th)(?![a-zA-Z]))"
                      r"(?=\s*(?:,|$))")
# Fast rational parse: integers, decimals, `a/b`, `\frac{a}{b}`, mixed `2\frac{1}{2}`,
# scientific `2.5\cdot10^{-3}`.
_INT_OR_DEC = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_SLASH = re.compile(r"^([+-]?\d+)/(\d+)$")
_FRAC = re.compile(r"^([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}$")
_MIXED = re.compile(r"^([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$")
_SCIENTIFIC = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\\cdot10\^\{?([+-]?\d{1,3})\}?$")
_DECIMAL = re.compile(r"^[+-]?(\d*)\.(\d+)$")
_INT_POWER = re.compile(r"^([+-]?)(\d{1,20})\^\{?([+-]?\d{1,5})\}?$")  # `2^{-70}`, `-3^4`
_MAX_POWER_BITS = 4096  # larger powers go to the bounded symbolic worker
# A percent sign (or word) ending a raw answer: `50\%`, `28 percent`, `5 pct`, `12\text{ \%}`.
_PERCENT_END = re.compile(r"(?:%|\bpercent(?:age)?\b|\bpct\b)[\s.}$]*$")
PERCENT_MARK = "%"  # never in a normal form otherwise: `%` signs are dropped
_MAX_FAST_DIGITS = 200


def undouble_backslashes(text: str) -> str:
    r"""Un-escapes JSON-escaped LaTeX: when a command is written `\\frac` (two backslashes
    before letters), every `\\` becomes `\` (so a doubled row break `\\\\` becomes `\\`)."""
    if _DOUBLED_COMMAND.search(text):
        return text.replace("\\\\", "\\")
    return text


def _braced_calls(s: str, pattern: re.Pattern, head: str) -> str:
    """Rewrites each match of `pattern` followed by `(...)` as `head{...}` (balanced
    parentheses, nested calls too): `sqrt(x+1)` -> `\\sqrt{x+1}`, `2^(-1)` -> `2^{-1}`; with
    digits instead of parentheses, `sqrt12` -> `\\sqrt{12}`. An unclosed call stops the
    rewriting. A loop, not recursion: at most `_MAX_PLAIN_CALLS` calls on hostile input."""
    for _ in range(_MAX_PLAIN_CALLS):
        m = pattern.search(s)
        if m is None:
            break
        j = m.end()
        if s[j] == "(":
            close = _matching_paren(s, j)
            if close is None:
                break
            s = s[:m.start()] + head + "{" + s[j + 1:close] + "}" + s[close + 1:]
        else:
            k = j
            while k < len(s) and s[k].isdigit():
                k += 1
            s = s[:m.start()] + head + "{" + s[j:k] + "}" + s[k:]
    return s


def _matching_paren(s: str, open_at: int) -> int | None:
    depth = 0
    for k in range(open_at, len(s)):
        depth += {"(": 1, ")": -1}.get(s[k], 0)
        if depth == 0:
            return k
    return None


def _plain_syntax(s: str) -> str:
    """Plain-text and programming spellings in LaTeX: `sqrt(2)` -> `\\sqrt{2}`, `2^(-1)` (from
    `2**(-1)`) -> `2^{-1}`, `pi` ->
    `\\pi`, `inf` -> `\\infty`, `sin(x)` -> `\\sin(x)`, `2*x` -> `2\\cdot x` (`**` is
    already `^`), `+\\infty` -> `\\infty`."""
    if _PLAIN_SQRT.search(s):
        s = _braced_calls(s, _PLAIN_SQRT, "\\sqrt")
    if _PAREN_EXPONENT.search(s):
        s = _braced_calls(s, _PAREN_EXPONENT, "^")
    s = _PLAIN_FUNCTION.sub(r"\\\1", s)
    s = _PLAIN_CONSTANT.sub(lambda m: "\\pi" if m.group(1) else "\\infty", s)
    s = _PRODUCT_STAR.sub(r"\\cdot ", s)
    return _PLUS_INFINITY.sub(r"\1", s)


def _strip_text_wrappers(s: str) -> str:
    for _ in range(10):  # Nested wrappers, innermost first; bounded.
        new = _TEXT_WRAPPER.sub(lambda m: m.group(1), s)
        if new == s:
            break
        s = new
    return s


def _collapse_spaces(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    # Keep a space only between two letters (`\sin x`, `a b`), remove it elsewhere.
    return re.sub(r"(?<![a-zA-Z]) | (?![a-zA-Z])", "", s)


def _strip_name(s: str) -> str:
    """`x = 5` -> `5`, `f(x) = 2x+3` -> `2x+3`, `(p,q)=(3,2)` -> `(3,2)`; keeps `y = 2x+3`."""
    m = _FUNCTION_PREFIX.match(s)
    if m:
        return m.group(2)
    sides = s.split("=")
    if (len(sides) > 2 and not any(mark in s for mark in _NOT_A_CHAIN)
            and not _HAS_VARIABLE.search(_COMMAND.sub("", sides[-1]))):
        # `x = 5+5+1 = 11`: the last side (a constant) is the answer. Not several equations
        # (`x=1 \\ y=2`, an environment, a list) nor `a = 1 = b`: their last side is not.
        return sides[-1]
    if len(sides) == 2 and not any(_HAS_VARIABLE.search(_COMMAND.sub("", p)) for p in sides):
        return sides[1]  # `\frac{1}{2}\cdot 20 = 10`: a computation and its result
    m = _VAR_PREFIX.match(s)
    if m and "=" not in m.group(1) and not _HAS_VARIABLE.search(_COMMAND.sub("", m.group(1))):
        return m.group(1)
    return s


def _split_items(s: str) -> list[str]:
    from mathft_jax.evaluation.structure import split_top_level
    return split_top_level(s, ",")


def _named_items(items: list[str]) -> list[tuple[str, str]] | None:
    from mathft_jax.evaluation.structure import named_groups, named_items
    return named_items(items) or named_groups(items)


def _interval(s: str) -> str:
    """`-2\\leq x\\leq 7` -> `[-2,7]`, `x>2` -> `(2,\\infty)`; anything else unchanged."""
    m = _CHAIN.match(s)
    if m and not _HAS_VARIABLE.search(_COMMAND.sub("", m.group(1) + m.group(4))):
        lo, op1, op2, hi = m.group(1), m.group(2), m.group(3), m.group(4)
        if op1 in ("<", "\\leq") and op2 in ("<", "\\leq"):
            return ("(" if op1 == "<" else "[") + lo + "," + hi + (")" if op2 == "<" else "]")
        if op1 in (">", "\\geq") and op2 in (">", "\\geq"):
            return ("(" if op2 == ">" else "[") + hi + "," + lo + (")" if op1 == ">" else "]")
        return s
    m = _NEGATED_ONE_SIDED.match(s)
    if m and not _HAS_VARIABLE.search(_COMMAND.sub("", m.group(3))):
        bound = m.group(3)
        negated = bound[1:] if bound.startswith("-") and "+" not in bound and "-" not in bound[1:] \
            else f"-({bound})"
        s = m.group(1) + _FLIP[m.group(2)] + negated  # `-x > -1` -> `x < 1`
    m = _REVERSED_ONE_SIDED.match(s)
    if m and not _HAS_VARIABLE.search(_COMMAND.sub("", m.group(1))):
        s = m.group(3) + _FLIP[m.group(2)] + m.group(1)  # `5\geq x` -> `x\leq 5`
    m = _ONE_SIDED.match(s)
    if m and not _HAS_VARIABLE.search(_COMMAND.sub("", m.group(2))):
        op, bound = m.group(1), m.group(2)
        if op in (">", "\\geq"):
            return ("(" if op == ">" else "[") + bound + ",\\infty)"
        return "(-\\infty," + bound + (")" if op == "<" else "]")
    return s


def _clock(s: str) -> str:
    """`08:34 PM` and `20:34:00` -> `20:34` (only when seconds or AM/PM make it a time)."""
    m = _CLOCK.match(s)
    if not m or (":00" not in s[3:] and not m.group(3)):
        return s
    hour, meridiem = int(m.group(1)), m.group(3)
    if meridiem:  # 12 AM is 00, 12 PM is 12
        hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
    return f"{hour:02d}:{m.group(2)}"


# The caches wrap undecorated functions that hold the work: mutation testing (mutmut) leaves
# decorated functions alone, so the rules themselves stay within its reach.
@functools.lru_cache(maxsize=200_000)
def normalize_answer(answer: str) -> str:
    """Returns the string normal form of `answer` (see the module docstring)."""
    return _normal_form(answer)


def _normal_form(answer: str) -> str:
    s = answer.strip()
    if len(s) > MAX_NORMALIZE_CHARS:
        return s
    s = undouble_backslashes(s)
    s = s.replace("\\$", "").replace("$", "").replace("€", "").replace("\n", " ").rstrip(" .")
    m = _EMPHASIS.match(s)
    if m:  # markdown emphasis: `**5**`, `*5*`
        s = m.group(2).rstrip(" .")
    m = _OPTION.match(s)
    if m:
        return m.group(1)  # a multiple-choice letter: `(C)`, `C. x = 42`
    m = _NAMED_APPROX.match(s)
    s = m.group(1) if m else _APPROX.sub("", s)
    s = _LATEX_THOUSANDS.sub(",", s)  # `11,\! 111` and `14 {, }916` are thousands separators
    s = _SCI_TIMES.sub(r"\\cdot10^", s)
    if _TRIG.search(s):  # `\sin(90^\circ - x)`: degrees inside a trig function are radians
        s = _TRIG_DEGREES.sub(r"(\1\\pi/180)", s)
    s = _TRAILING_TEXT_UNIT.sub("", s).strip()
    for old, new in _SIMPLE_REPLACEMENTS:
        s = s.replace(old, new)
    s = _plain_syntax(s)
    s = _LE_GE.sub(r"\\\1q", s)
    s = re.sub(r"(?<!\\)\\ ", " ", s)  # `\ ` is a space; `\\ ` is a row break.
    s = _DEGREES.sub("", s)
    s = s.replace("\\%", "").replace("%", "")
    s = _SEPARATORS.sub(",", s).strip(" ,")
    s = re.sub(r",(?:\s*,)+", ",", s)
    s = _TRAILING_TEXT_WORDS.sub("", s).strip()
    s = _strip_text_wrappers(s).strip()
    s = _ORDINAL.sub("", s)  # `12^{th}`, `12th`
    s = _TRAILING_BARE_UNIT.sub("", s).strip()  # needs a digit before it: `m` stays
    s = s.rstrip(".,;").strip()
    s = s.rstrip("\\").strip()
    m = _MIXED_SLASH.match(s)
    if m:
        s = f"{m.group(1)}{m.group(2)}\\frac{{{m.group(3)}}}{{{m.group(4)}}}"
    s = _POWER_THEN_NUMBER.sub(r"\1\\cdot ", s)
    s = _strip_name(s)
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    s = _FRAC_HALF_SHORT_NUM.sub(r"\\frac{\1}{", s)
    s = _FRAC_HALF_SHORT_DEN.sub(r"\\frac\1{\2}", s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _SUBSCRIPT_BRACE.sub(r"_\1", s)
    thousands = _THOUSANDS.match(s)  # before spaces go: `32, 349` is a list, not 32349
    s = _collapse_spaces(s)
    s = _LEADING_DOT.sub(r"0.\1", s)
    if thousands:
        s = s.replace(",", "")
    s = _clock(s)
    m = _WRAPPED_MATRIX.match(s)
    if m:
        s = m.group(1)
    if _WORDS_ONLY.match(s) and len(s) >= 3:
        s = s.lower()
    if s.startswith("{") and s.endswith("}") and len(_split_items(s[1:-1])) > 1:
        s = "\\{" + s[1:-1] + "\\}"  # `{1, 2}`: set braces written without backslashes
    items = [item.lstrip("+") for item in _split_items(s)]
    if len(items) > 1 and _named_items(items) is None:  # `x = 1, x = 2` -> `1,2`
        s = ",".join(_strip_name(item) for item in items)
    elif len(items) > 1:  # distinct names keep them: `x=2,y=3` equals (2,3) and {2,3}; so do
        # several solutions of the same names in turn: `p=5,q=2;p=7,q=2`
        s = ",".join(items)
    s = _interval(s)
    m = _PLUS_MINUS.match(s)
    if m and "\\pm" not in m.group(2) and "," not in s:
        head = m.group(1) or ""
        s = f"{head}+{m.group(2)},{head}-{m.group(2)}" if head else f"{m.group(2)},-{m.group(2)}"
    if s.startswith("+"):
        s = s[1:]
    return s


def percent_marked(answer: str, normal: str) -> str:
    """`normal` + `PERCENT_MARK` when the raw `answer` ends with a percent sign or word and its
    normal form is one value (not a list); else `normal` unchanged.

    Example:
        >>> percent_marked(r"12.5\\%", "12.5"), percent_marked(r"10\\%, 20\\%", "10,20")
        ('12.5%', '10,20')
    """
    from mathft_jax.evaluation.structure import split_top_level
    if not normal or len(answer) > MAX_NORMALIZE_CHARS or not _PERCENT_END.search(answer):
        return normal
    return normal + PERCENT_MARK if len(split_top_level(normal, ",")) == 1 else normal


_ASSIGNED_NAME = re.compile(r"(?<![\\\w])([a-zA-Z](?:_\w+|_\{\w+\})?)\s*=(?!=)")
_OR = re.compile(r"\bor\b")
_PM_SIGN = re.compile(r"\\(?:pm|mp)(?![a-zA-Z])|±|∓")


def solutions_marked(answer: str, normal: str) -> str:
    """`normal` written as a set (`\\{...\\}`) when the raw `answer` says its comma list
    (with no names left in the normal form) is a list of solutions: values of one name
    (`x = 1 or x = 2`, `x=1, x=2`, `a = 4, -8`), a `\\pm` (`1 \\pm \\sqrt2`) or
    alternatives joined by "or" (`(11,7) or (7,11)`); else `normal` unchanged. Such a list is
    unordered under `Grader(comma_lists="ordered")`; a bare `1, 2` and `1 and 2` are not.

    Example:
        >>> solutions_marked("x = 1 or x = 2", "1,2"), solutions_marked("1, 2", "1,2")
        ('\\\\{1,2\\\\}', '1,2')
    """
    from mathft_jax.evaluation.structure import split_top_level
    if not normal or len(answer) > MAX_NORMALIZE_CHARS or normal.startswith("\\{"):
        return normal
    items = split_top_level(normal, ",")
    if len(items) < 2 or any("=" in item for item in items):
        return normal
    names = {m.group(1) for m in _ASSIGNED_NAME.finditer(answer)}
    if len(names) == 1 or _OR.search(answer) or (not names and _PM_SIGN.search(answer)):
        return "\\{" + normal + "\\}"
    return normal


def percent_value(number: str) -> str:
    """The normal form of `number` percent's value, `number`/100, keeping a decimal's written
    digits (so the decimal tolerance still applies): `12.5` -> `0.125`, `50` -> `0.50`,
    `\\frac{100}{3}` -> `\\frac{1}{3}`, `x` -> `\\frac{x}{100}`.

    Example:
        >>> percent_value("33.33"), percent_value(r"33\\frac{1}{3}")
        ('0.3333', '\\\\frac{1}{3}')
    """
    if _INT_OR_DEC.match(number) and len(number) <= _MAX_FAST_DIGITS:
        return format(decimal.Decimal(number).scaleb(-2), "f")
    value = as_rational(number)
    if value is None:
        return f"\\frac{{{number}}}{{100}}"
    value /= 100
    if value.denominator == 1:
        return str(value.numerator)
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def rounds_to(decimal, value, ulp) -> bool:
    """True if `decimal` is `value` rounded (|d - v| <= ulp/2) or truncated (same sign,
    |d| <= |v| < |d| + ulp) to the place `ulp` of its last written digit.

    Example:
        >>> rounds_to(Fraction("0.3333"), Fraction(1, 3), Fraction(1, 10000))
        True
        >>> rounds_to(Fraction("1.415"), Fraction(14142, 10000), Fraction(1, 1000))
        False
    """
    if abs(decimal - value) * 2 <= ulp:
        return True
    same_sign = (decimal >= 0) == (value >= 0)
    return same_sign and abs(decimal) <= abs(value) < abs(decimal) + ulp


def decimal_tolerance(normal: str, min_digits: int | None) -> Fraction | None:
    """The place of a decimal answer's last written digit (its `ulp`, see `rounds_to`).

    Only decimals with at least `min_digits` significant digits get one (None otherwise, and
    when `min_digits` is None): `0.0833333` -> 1e-7, `1.732` -> 1e-3 with `min_digits=4`;
    `0.33` has two significant digits and stays exact.

    Example:
        >>> decimal_tolerance("4.1231", 4)
        Fraction(1, 10000)
    """
    if min_digits is None:
        return None
    scale = Fraction(1)
    m = _SCIENTIFIC.match(normal)
    if m:  # `2.3148\cdot10^{-3}`: the mantissa's last place, scaled
        normal, scale = m.group(1), Fraction(10) ** int(m.group(2))
    m = _DECIMAL.match(normal)
    if not m:
        return None
    significant = (m.group(1) + m.group(2)).lstrip("0")
    if len(significant) < min_digits:
        return None
    return Fraction(1, 10 ** len(m.group(2))) * scale


@functools.lru_cache(maxsize=200_000)
def as_rational(normal: str) -> Fraction | None:
    """The exact rational value of a normalised answer, or None if it is not a plain number.

    Handles integers, decimals (exactly: `0.1` is 1/10), `a/b`, `\\frac{a}{b}` with an optional
    sign, mixed numbers (`2\\frac{1}{2}` = 5/2, MATH's convention) and integer powers up to
    4096 bits (`2^{-70}`: exact, however small).

    Example:
        >>> as_rational(r"-\\frac{3}{6}")
        Fraction(-1, 2)
    """
    return _rational_value(normal)


def _rational_value(normal: str) -> Fraction | None:
    if not normal or len(normal) > _MAX_FAST_DIGITS:
        return None
    try:
        if _INT_OR_DEC.match(normal):
            return Fraction(normal)
        m = _SLASH.match(normal)
        if m:
            return Fraction(int(m.group(1)), int(m.group(2)))
        m = _FRAC.match(normal)
        if m:
            value = Fraction(int(m.group(2)), int(m.group(3)))
            return -value if m.group(1) == "-" else value
        m = _SCIENTIFIC.match(normal)
        if m:
            return Fraction(m.group(1)) * Fraction(10) ** int(m.group(2))
        m = _MIXED.match(normal)
        if m:
            value = int(m.group(2)) + Fraction(int(m.group(3)), int(m.group(4)))
            return -value if m.group(1) == "-" else value
        m = _INT_POWER.match(normal)
        if m:
            return _int_power(m.group(1), int(m.group(2)), int(m.group(3)))
    except (ValueError, ZeroDivisionError):  # `1/0`, `\frac{1}{0}`, `0^{-1}`
        return None
    return None


def _int_power(sign: str, base: int, exponent: int) -> Fraction | None:
    """`sign base^exponent` exactly (`-3^4` is -81), or None past `_MAX_POWER_BITS`."""
    if abs(exponent) * base.bit_length() > _MAX_POWER_BITS:
        return None
    value = Fraction(base) ** exponent
    return -value if sign == "-" else value
