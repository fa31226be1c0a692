"""Mathematical equivalence of two answers as they appear inside `\\boxed{}`.

`check_equiv(gold, pred)` runs three stages, cheapest first:

1. String normal form (`normalization.normalize_answer`): equal strings are EQUAL.
2. Structure (`structure.parse_structure`) and a fast path: plain rationals (integers,
   decimals, fractions, mixed numbers) are compared exactly with `fractions.Fraction`;
   structures compare as follows —
   * ordered sequences (points, tuples, intervals): same brackets (open vs closed matters),
     same length, item by item in order;
   * sets, unions, systems and lists of solutions: multisets, order ignored (`\\{1,2\\}` =
     `\\{2,1\\}`); a bare comma list (`1, 2`) in the order written under
     `Grader(comma_lists="ordered")`, the default, also against a set (see below);
   * matrices: same shape, cell by cell; against a matrix expression (`A + B`, `AB`,
     several environments in one answer), by the symbolic stage, which evaluates it;
   * named solutions (`x=2; y=3`, `x=2 and y=3`): by name against named solutions, in the
     order written against a tuple `(2,3)` or a bare list `2,3` (as a multiset under
     `comma_lists="unordered"`), as a multiset against `\\{2,3\\}`;
   * a structure never equals a different kind of structure or a scalar.
3. Scalars that are not both rationals and whose strings differ go to the bounded symbolic
   worker (`symbolic.SymbolicWorker`): expressions, radicals, equations, inequalities.
   Two words of three or more letters (text answers such as `even`/`odd`, compared
   case-insensitively) that differ are NOT_EQUAL without sympy.

Decimals (the tolerance rule, `Grader(decimal_min_digits=4)`): two decimals compare exactly,
and so does a decimal with fewer than `decimal_min_digits` significant digits (`0.33` is not
`\\frac{1}{3}`, `3.14` is not `\\pi`). A decimal with at least that many significant digits
equals an exact value (fraction, integer, radical, `\\pi`...) when it is that value rounded or
truncated to the digits written (`normalization.rounds_to`): `0.0833333333333333` =
`\\frac{1}{12}`, `1.732` = `\\sqrt{3}`, `125.663` = `40\\pi` (truncated), `1.415` != `\\sqrt{2}`,
`5.001` != `5`. A decimal
never equals a value it cannot be a rounding of, and two different decimals are never equal,
so the rule cannot chain unequal answers (see `clustering.py`). The same holds inside an
expression or a relation whose other side writes no decimal: such a decimal may stand for a
constant of the other side it is a rounding of (`x + 1.414i` = `x + \\sqrt{2}i`, `a-b=1.732` =
`a-b=\\sqrt{3}`, `2.828x` = `2\\sqrt{2}x`; see `symbolic._rounded_constants`), and the rest must
then be equal exactly. `decimal_min_digits=None` makes every decimal exact.

Percent (`Grader(percent="both")`): an answer of one value written with a percent sign
(`50\\%`, `50 percent`) equals its number (`50`, MATH's convention: the sign is decoration),
its value (`0.5`, `\\frac{1}{2}`), or both. The graders in the field differ: Hendrycks MATH
reads the sign as decoration only; math-verify, Qwen2.5-Math, NeMo-Skills and MARIO_EVAL accept
both, which is the default here. `percent="number"` is the decoration-only rule, `"value"`
the strict one (`50\\%` is not `50`). Two percents compare by their numbers. The relation is
not transitive under "both" (`10\\%` equals `10` and `0.1`, which differ), so clustering
visits percent answers after all others: a percent joins a cluster, never founds one that
would gather both readings.

Comma lists (`Grader(comma_lists="ordered")`): a bare list `10, 4, -2` may be MATH's "enter
all solutions" (any order) or an ordered answer (`a, b, c`); the grader cannot see the
question, so by default it compares such a list in the order written (Hendrycks MATH's rule),
which never calls two different ordered answers equal. A list whose writer says it is
unordered stays a multiset: set braces (`\\{4, 10, -2\\}`), solutions of one unknown named
more than once (`x = 1 or x = 2`, `x=1, x=2`), a `\\pm` (`\\pm 2`), several named solutions in
turn (`p=5,q=2;p=7,q=2`). Only two unordered lists compare as multisets: a bare list against a
set compares in the order written. `comma_lists="unordered"` reads every comma list as a
multiset (MARIO_EVAL's rule: `1, 2, 3` = `1, 3, 2`), for a benchmark whose list answers are all
"enter all solutions".

Time: one `check` spends at most `timeout_s` (default 5 s) in the symbolic worker in all,
whatever the structure; past it the remaining comparisons are UNKNOWN.

Example:
    >>> is_equiv(r"\\frac{1}{2}", "0.5")
    True
    >>> check_equiv("(1,2]", "(1,2)")
    <Verdict.NOT_EQUAL: 'not_equal'>

Results for scalar pairs are cached (symmetric key), so clustering many samples performs each
symbolic comparison at most once per process.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from fractions import Fraction

from mathft_jax.evaluation import normalization, structure
from mathft_jax.evaluation.symbolic import SymbolicWorker, default_worker
from mathft_jax.evaluation.verdict import Verdict, all_of

DEFAULT_CHECK_TIMEOUT_S = 5.0
PERCENT_MODES = ("both", "number", "value")
COMMA_LIST_MODES = ("ordered", "unordered")
_WORD = re.compile(r"^[a-zA-Z]{3,}(?: [a-zA-Z]+)*$")
_LATEX_WORDS = ("infty", "pi", "sqrt", "frac", "sin", "cos", "tan", "log", "ln", "emptyset")


class Grader:
    """Equivalence checker with its own caches and symbolic worker.

    Args:
      worker: the symbolic worker (default: the process-wide one, started on first need).
      decimal_min_digits: significant digits from which a decimal may be a rounding of an
        exact value (the tolerance rule above); None: decimals are always exact.
      timeout_s: the most one check may spend in the worker, all comparisons together; past
        it the remaining comparisons are UNKNOWN. A worker restart after a killed comparison
        happens at the next call and is not counted.
      percent: how a one-value answer written with a percent sign compares with one written
        without: "both" (its number or its value: `50\\%` = `50` = `0.5`), "number" (`50`
        only) or "value" (`0.5` only). See the module docstring.
      comma_lists: how a bare comma list compares: "ordered" (in the order written, unless
        both sides say they are unordered: sets, solutions of one named unknown, `\\pm`) or
        "unordered" (always a multiset, MATH's "enter all solutions"). See the module docstring.

    Attributes:
      num_symbolic_calls: symbolic comparisons actually sent to the worker (cache misses).
    """

    def __init__(self, worker: SymbolicWorker | None = None, decimal_min_digits: int | None = 4,
                 timeout_s: float = DEFAULT_CHECK_TIMEOUT_S, percent: str = "both",
                 comma_lists: str = "ordered"):
        if percent not in PERCENT_MODES:
            raise ValueError(f"percent must be one of {PERCENT_MODES}, not {percent!r}")
        if comma_lists not in COMMA_LIST_MODES:
            raise ValueError(f"comma_lists must be one of {COMMA_LIST_MODES}, "
                             f"not {comma_lists!r}")
        self.percent = percent
        self.comma_lists = comma_lists
        self._worker = worker
        self.decimal_min_digits = decimal_min_digits
        self.timeout_s = timeout_s
        self._local = threading.local()  # the running check's deadline, per thread
        self._scalar_cache: dict[tuple[str, str], Verdict] = {}
        self.num_symbolic_calls = 0

    @property
    def worker(self) -> SymbolicWorker:
        if self._worker is None:
            self._worker = default_worker()
        return self._worker

    def normal_form(self, answer: str) -> str:
        """The normal form; with a percent rule other than "number", a one-value answer
        written with a percent sign is marked (`50%`, see `normalization.percent_marked`);
        with ordered comma lists, a list of solutions of one unknown is written as a set
        (`x=1 or x=2` -> `\\{1,2\\}`, see `normalization.solutions_marked`)."""
        normal = normalization.normalize_answer(answer)
        if self.comma_lists == "ordered":
            normal = normalization.solutions_marked(answer, normal)
        if self.percent == "number":
            return normal
        return normalization.percent_marked(answer, normal)

    def check(self, gold: str | None, pred: str | None) -> Verdict:
        """Tri-state equivalence of two raw answers (None = no answer: NOT_EQUAL)."""
        if gold is None or pred is None:
            return Verdict.NOT_EQUAL
        return self.check_normal(self.normal_form(gold), self.normal_form(pred))

    def check_normal(self, a: str, b: str) -> Verdict:
        """Tri-state equivalence of two already-normalised answers (at most `timeout_s`)."""
        if a == b:
            return Verdict.EQUAL
        if not a or not b:
            return Verdict.NOT_EQUAL
        self._local.deadline = time.monotonic() + self.timeout_s
        try:
            return self._node(_structure(a), _structure(b))
        finally:
            self._local.deadline = float("inf")

    def _node(self, x: structure.Node, y: structure.Node) -> Verdict:
        if isinstance(x, structure.Scalar) and isinstance(y, structure.Scalar):
            return self.scalar(x.text, y.text)
        if isinstance(y, structure.Named):
            return self._named(y, x)
        if isinstance(x, structure.Named):
            return self._named(x, y)
        for m, e in ((x, y), (y, x)):  # a matrix against a matrix expression (`A + B`, `AB`)
            if isinstance(m, structure.Matrix) and _is_matrix_expression(e):
                return self.scalar(m.text, e.text)
        if type(x) is not type(y):
            return Verdict.NOT_EQUAL
        if isinstance(x, structure.Seq):
            if (x.open, x.close, len(x.items)) != (y.open, y.close, len(y.items)):
                return Verdict.NOT_EQUAL
            return all_of(self._node(p, q) for p, q in zip(x.items, y.items))
        if isinstance(x, structure.Matrix):
            if [len(r) for r in x.rows] != [len(r) for r in y.rows]:
                return Verdict.NOT_EQUAL
            return all_of(self._node(p, q)
                          for rx, ry in zip(x.rows, y.rows) for p, q in zip(rx, ry))
        if self._in_order(x) or self._in_order(y):
            return self._sequence(x.items, y.items)
        return self._multiset(x.items, y.items)

    def _in_order(self, node: structure.Node) -> bool:
        """Whether `node` is a bare comma list read in the order written (see the module
        docstring: `comma_lists="ordered"`)."""
        return (self.comma_lists == "ordered" and isinstance(node, structure.Unordered)
                and node.kind == "list")

    def _sequence(self, xs, ys) -> Verdict:
        if len(xs) != len(ys):
            return Verdict.NOT_EQUAL
        return all_of(self._node(p, q) for p, q in zip(xs, ys))

    def _named(self, x: structure.Named, y: structure.Node) -> Verdict:
        """Named solutions against: the same names (matched by name), a tuple `(..)` or, with
        ordered comma lists, a bare list (in the order written), a set or list (a multiset of
        values); nothing else."""
        if isinstance(y, structure.Named):
            if sorted(x.names) != sorted(y.names):
                return Verdict.NOT_EQUAL
            value_of = dict(zip(y.names, y.items))
            return all_of(self._node(v, value_of[n]) for n, v in zip(x.names, x.items))
        if (isinstance(y, structure.Seq) and (y.open, y.close) == ("(", ")")
                or self._in_order(y)):
            return self._sequence(x.items, y.items)
        if isinstance(y, structure.Unordered):
            return self._multiset(x.items, y.items)
        return Verdict.NOT_EQUAL

    def _multiset(self, xs, ys) -> Verdict:
        """Greedy matching: each item of xs takes the first unmatched EQUAL item of ys."""
        if len(xs) != len(ys):
            return Verdict.NOT_EQUAL
        unmatched = list(range(len(ys)))
        unknown = False
        for p in xs:
            found = None
            for j in unmatched:
                v = self._node(p, ys[j])
                if v is Verdict.EQUAL:
                    found = j
                    break
                unknown = unknown or v is Verdict.UNKNOWN
            if found is None:
                return Verdict.UNKNOWN if unknown else Verdict.NOT_EQUAL
            unmatched.remove(found)
        return Verdict.EQUAL

    def scalar(self, a: str, b: str) -> Verdict:
        """Compares two normalised scalar strings (cached, symmetric)."""
        if a == b:
            return Verdict.EQUAL
        mark = normalization.PERCENT_MARK
        if a.endswith(mark) or b.endswith(mark):
            return self._percent(a, b)
        ra, rb = normalization.as_rational(a), normalization.as_rational(b)
        tolerance = self._tolerance(a, b)
        if ra is not None and rb is not None:
            if ra == rb:
                return Verdict.EQUAL
            if tolerance is not None:
                decimal, value = (ra, rb) if "." in a else (rb, ra)
                if normalization.rounds_to(decimal, value, tolerance):
                    return Verdict.EQUAL
            return Verdict.NOT_EQUAL
        if _is_word(a) or _is_word(b):
            # Text answers: string equality decides (a word never equals a number).
            return Verdict.NOT_EQUAL
        key = (a, b) if a <= b else (b, a)
        cached = self._scalar_cache.get(key)
        if cached is not None:
            return cached
        remaining = getattr(self._local, "deadline", float("inf")) - time.monotonic()
        if remaining <= 0:
            return Verdict.UNKNOWN
        self.num_symbolic_calls += 1
        if tolerance is not None and "." not in a:
            a, b = b, a  # the worker expects the decimal first
        verdict = self.worker.compare(a, b, float(tolerance or 0), timeout_s=remaining,
                                      decimal_min_digits=self.decimal_min_digits)
        if verdict is not Verdict.UNKNOWN:  # UNKNOWN may be a time-out: worth a retry later
            self._scalar_cache[key] = verdict
        return verdict

    def _percent(self, a: str, b: str) -> Verdict:
        """A percent-marked scalar against another: two percents by their numbers, else the
        percent's readings allowed by `self.percent` (EQUAL if one is equal)."""
        mark = normalization.PERCENT_MARK
        if a.endswith(mark) and b.endswith(mark):
            return self.scalar(a[:-1], b[:-1])
        number, other = (a[:-1], b) if a.endswith(mark) else (b[:-1], a)
        readings = [normalization.percent_value(number)]
        if self.percent == "both":
            readings.insert(0, number)
        verdicts = [self.scalar(reading, other) for reading in readings]
        if Verdict.EQUAL in verdicts:
            return Verdict.EQUAL
        return Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts else Verdict.NOT_EQUAL

    def _tolerance(self, a: str, b: str) -> Fraction | None:
        """The decimal rounding allowance when exactly one side is a long decimal."""
        ta = normalization.decimal_tolerance(a, self.decimal_min_digits)
        tb = normalization.decimal_tolerance(b, self.decimal_min_digits)
        if (ta is None) == (tb is None) or "." in (b if ta is not None else a):
            return None  # two decimals (or none) compare exactly
        return ta if ta is not None else tb


def _is_matrix_expression(node: structure.Node) -> bool:
    return isinstance(node, structure.Scalar) and "\\begin{" in node.text


def _is_word(s: str) -> bool:
    return bool(_WORD.match(s)) and s not in _LATEX_WORDS


@functools.lru_cache(maxsize=100_000)
def _structure(normal: str) -> structure.Node:
    return structure.parse_structure(normal)


_DEFAULT_GRADER: Grader | None = None


def default_grader() -> Grader:
    global _DEFAULT_GRADER
    if _DEFAULT_GRADER is None:
        _DEFAULT_GRADER = Grader()
    return _DEFAULT_GRADER


def check_equiv(gold: str | None, pred: str | None, grader: Grader | None = None) -> Verdict:
    """EQUAL / NOT_EQUAL / UNKNOWN for two raw answers (contents of `\\boxed{}`)."""
    return (grader or default_grader()).check(gold, pred)


def is_equiv(gold: str | None, pred: str | None, grader: Grader | None = None) -> bool:
    """True iff `check_equiv` proves the answers equal (UNKNOWN counts as not equal)."""
    return check_equiv(gold, pred, grader) is Verdict.EQUAL
