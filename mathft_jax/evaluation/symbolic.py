"""Bounded symbolic comparison of two scalar answers, run in a separate worker process.

Model output is hostile: `9^{9^{9^{9}}}` makes sympy compute forever, and a big enough
expression exhausts memory. So every symbolic step runs in one reused child process:

* the child is a plain `python -m mathft_jax.evaluation.symbolic` subprocess (not a
  `multiprocessing` spawn, which re-imports the caller's `__main__` and fails in a script
  without an `if __name__ == "__main__":` guard, in `python - <<EOF` and in some notebooks);
* the parent writes `[a, b, tolerance]` (normalised LaTeX strings) as one JSON line to its
  stdin and waits at most `timeout_s` (default 2 s) for the reply line with `select`, which
  works on any thread (unlike `signal.alarm`) and inside long jobs;
* on time-out the child is killed (SIGKILL) and the answer is UNKNOWN; the next call starts a
  fresh child (start-up, ~1 s, is not counted against the per-comparison bound);
* a child that is not ready within its start-up limit (`STARTUP_ENV`, default 120 s; only a
  heavily loaded machine gets near it) or dies before it is ready stops the run with one line
  (`EnvironmentFailure`, exit status 3), never a traceback;
* the child caps its own address space (`memory_limit_bytes`, default 4 GiB) so a huge
  allocation raises MemoryError instead of swapping the machine;
* the child parses LaTeX with latex2sympy2_extended's ANTLR grammar (never `eval`,
  `sympify` or `parse_expr` on the text), rejects inputs longer than `MAX_SYMBOLIC_CHARS`,
  expression trees with more than `MAX_NODES` nodes and integer powers whose result would
  have more than `MAX_POW_BITS` bits, before any simplification.

Comparison rules in the child (a, b parsed to sympy):
* an equation `y = f` (a lone symbol on one side) against an expression `g`: compares f, g;
* a matrix expression of explicit matrices (`A + B`, `AB`, `2A`) is the matrix it evaluates
  to; matrices compare cell by cell;
* relations: equations `l1=r1`, `l2=r2` are equal when `(l1-r1)` and `(l2-r2)` differ by a
  non-zero constant factor; inequalities when they have the same strictness and the same
  `greater - smaller` side (so `x>2` equals `2<x`);
* numbers are exact: a decimal is the rational it spells (`0.1` is 1/10, never a binary
  float), and a difference that is a rational number (`2^{-70} - 2^{-71}`,
  `10^{30} + 1 - 10^{30}`) is decided exactly;
* expressions: otherwise the difference is evaluated numerically at 30 digits (with free
  symbols, at three fixed rational points) and judged RELATIVELY, never against an absolute
  bound (which would call every pair of values below it equal, `\\pi^{-60}` and
  `\\pi^{-61}`): sympy evaluates a difference adaptively to the digits asked, so a difference
  it resolves to any significant digit proves NOT_EQUAL (`e^{\\pi\\sqrt{163}}` is not
  `640320^3+744`, `2^{2^{-1000}}` is not 1), and one it cannot resolve with up to 1000
  working digits counts as zero only when it is at most 1e-20 * max(|a|, |b|). Non-zero
  anywhere gives NOT_EQUAL, zero at every point gives EQUAL; only when evaluation is
  undefined (nan, zoo, leftover symbols) does `simplify(a-b) == 0` get a chance to prove
  EQUAL, else UNKNOWN.
  The symbol `i` is read as the imaginary unit.

Example:
    >>> worker = SymbolicWorker(timeout_s=2.0)
    >>> worker.compare(r"\\frac{\\sqrt{2}}{2}", r"\\frac{1}{\\sqrt{2}}")
    <Verdict.EQUAL: 'equal'>
    >>> worker.close()
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from mathft_jax.evaluation.normalization import rounds_to
from mathft_jax.evaluation.verdict import Verdict

MAX_SYMBOLIC_CHARS = 400
MAX_NODES = 400
MAX_POW_BITS = 20_000
DEFAULT_TIMEOUT_S = 2.0
_STARTUP_TIMEOUT_S = 120.0
# Seconds a child may take to import sympy and say it is ready (overrides the default).
STARTUP_ENV = "MATHFT_SYMBOLIC_STARTUP_S"
# Numeric evaluation: digits of working precision, and the generic rational points (as
# (numerator, denominator)) where expressions with free symbols are evaluated: the first
# symbol in name order takes these values, the k-th one these plus its own offset at each
# point (`_offset`).
_DIGITS = 30
_POINTS = ((3, 7), (-5, 11), (13, 4))
# Two numbers are equal when they differ by at most this much relative to the larger one.
_REL_TOL = "1e-20"
# A decimal as written: `1.732`, `.5` (not the `3` of `3.`).
_DECIMAL_LITERAL = re.compile(r"(?<![\d.])(\d*)\.(\d+)(?![\d.])")
# A numeric difference known to this many bits is a proof of inequality, however small.
_RESOLVED_BITS = 30
# sympy raises its working precision up to this many digits to resolve a difference
# (`2^{2^{-1000}} - 1` needs ~330); past it an unresolved difference counts as zero.
_MAX_WORKING_DIGITS = 1000


# ----------------------------------------------------------------------------- child side


def _child_main(memory_limit_bytes: int | None) -> None:
    """The worker process: caps its memory, warms the parser, then `_serve`s stdin."""
    if memory_limit_bytes:
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
        except (ImportError, ValueError, OSError):
            pass
    # The protocol owns the original stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    import sympy  # noqa: F401  (warm the imports before reporting ready)
    from latex2sympy2_extended import latex2sympy2  # noqa: F401
    _compare_in_child("x + 1", "1 + x")  # builds the ANTLR parser: not a cost of the 1st call
    out.write("ready\n")
    _serve(sys.stdin, out)


def _serve(lines, out) -> None:
    """For each JSON line `[a, b, tolerance, decimal_min_digits]` of `lines` (the last may be
    left out: None), writes one Verdict value line."""
    for line in lines:
        a, b, tolerance, *rest = json.loads(line)
        try:
            verdict = _compare_in_child(a, b, tolerance, rest[0] if rest else None)
        except Exception:  # noqa: BLE001 — any failure (parser, sympy, MemoryError under the
            verdict = Verdict.UNKNOWN  # child's memory cap) means "cannot decide".
        out.write(verdict.value + "\n")


@functools.lru_cache(maxsize=4096)
def _parse(text: str):
    import sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, latex2sympy
    expr = latex2sympy(text, normalization_config=None,
                       conversion_config=ConversionConfig(lowercase_symbols=False))
    if isinstance(expr, sympy.Basic):
        i_sym = [s for s in expr.free_symbols if getattr(s, "name", None) == "i"]
        if i_sym:
            expr = expr.xreplace({i_sym[0]: sympy.I})
        expr = _exact_decimals(expr)
    return expr


def _exact_decimals(expr):
    """Replaces each decimal (a sympy Float) by the rational it spells: `0.1` -> 1/10.

    The parser builds Floats from the written digits; their decimal rendering at their own
    precision gives those digits back, whereas their binary value (0.1000000000000000055...)
    would make `0.1x` and `\\frac{x}{10}` differ at 30 digits."""
    import sympy
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sympy.Rational(str(f)) for f in floats})


def _log2_bound(expr) -> float:
    """An upper bound on log2|value| of an integer-power tower, or 0 for other nodes."""
    import sympy
    if isinstance(expr, sympy.Integer):
        return math.log2(abs(int(expr)) + 1) if abs(expr) < 2 ** 4096 else 4096.0
    if isinstance(expr, sympy.Pow):
        base_bits = _log2_bound(expr.base)
        exp_bits = _log2_bound(expr.exp)
        if exp_bits > 60:
            return math.inf if base_bits > 0 else 0.0
        return base_bits * (2.0 ** exp_bits)
    if isinstance(expr, sympy.factorial):
        arg_bits = _log2_bound(expr.args[0])
        return math.inf if arg_bits > 20 else (2.0 ** arg_bits) * arg_bits
    return 0.0


def _too_big(expr) -> bool:
    import sympy
    if not isinstance(expr, sympy.Basic):
        return False
    count = 0
    for node in sympy.preorder_traversal(expr):
        count += 1
        if count > MAX_NODES:
            return True
        if isinstance(node, (sympy.Pow, sympy.factorial)) and _log2_bound(node) > MAX_POW_BITS:
            return True
    return False


def _numeric(expr):
    import sympy
    return sympy.N(expr, _DIGITS, maxn=_MAX_WORKING_DIGITS)


def _offset(point: int, k: int):
    """The k-th symbol's offset (k >= 1) from the first symbol's value at a point: a rational
    with scrambled numerator and denominator, so that the values hold no simple relation.

    A shift shared by every point (k/17 once) makes `x - y` the same at all points, so
    `x - y = 1` and `x - y = 2` had a constant ratio and compared EQUAL; any offset linear in
    k at each point keeps `x - 2y + z` constant. With these offsets no integer combination with
    coefficients in [-4, 4] of six symbols, and no `x y - z w`, is the same at the three
    points (checked once by brute force; the tests check five symbols and [-3, 3])."""
    import sympy
    step = 7 * k + 3 * point
    numerator = (step * 40503 + 17) % 97 - 48
    denominator = 19 + (step * 2654435761) % 53
    return sympy.Rational(numerator or 31, denominator)


def _substitutions(free_symbols) -> list[dict]:
    """One {symbol: value} per point of `_POINTS` (see there and `_offset`)."""
    import sympy
    symbols = sorted(free_symbols, key=str)
    return [{s: sympy.Rational(*p) + (_offset(j, k) if k else 0) for k, s in enumerate(symbols)}
            for j, p in enumerate(_POINTS)]


def _exact_value(expr):
    """The exact rational value of a constant without decimals left, or None."""
    import sympy
    if expr.free_symbols or not expr.is_number:
        return None
    value = expr.doit()
    return value if isinstance(value, sympy.Rational) else None


def _magnitude(expr):
    """|value| of a constant at 30 digits (a sympy Float: no underflow below 1e-308)."""
    import sympy
    return sympy.Abs(_numeric(expr))


def _resolved_nonzero(value) -> bool:
    """Whether a numeric value has a non-zero part known to `_RESOLVED_BITS` or more.

    sympy evaluates a difference adaptively to the digits asked; when the difference is zero
    it cannot get there and returns a part with no significant bit (`0.e-166`)."""
    import sympy
    for part in value.as_real_imag():
        if isinstance(part, sympy.Float) and part != 0 and part._prec >= _RESOLVED_BITS:
            return True
    return False


def _numeric_zero(diff, *sides) -> bool | None:
    """Whether the constant `diff` (a difference of `sides`; default: its own terms) is zero:
    exactly when it is a rational number; else zero when its evaluation found no significant
    digit and it is at most `_REL_TOL` times the largest side (see the module docstring);
    None when evaluation is undefined."""
    import sympy
    exact = _exact_value(diff)
    if exact is not None:
        return exact == 0
    value = _numeric(diff)
    if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or value.free_symbols:
        return None
    magnitude = sympy.Abs(value)
    if magnitude == 0:
        return True
    if _resolved_nonzero(value):
        return False
    scales = [_magnitude(side) for side in sides or sympy.Add.make_args(diff)]
    if any(s.has(sympy.nan, sympy.zoo, sympy.oo) or s.free_symbols for s in scales):
        return None
    scale = max(scales, default=sympy.Float(0))
    return bool(magnitude <= sympy.Float(_REL_TOL, _DIGITS) * scale)


def _expr_verdict(a, b, tolerance: float = 0.0) -> Verdict:
    """Numeric test first (cheap, decides almost every pair), `simplify` only as a fallback.

    `tolerance` (only for constants): when non-zero, `a` is a decimal answer and `tolerance`
    the place of its last digit; EQUAL if `a` is `b` rounded or truncated there
    (`normalization.rounds_to`)."""
    import sympy
    diff = a - b
    if diff == 0:
        return Verdict.EQUAL
    verdict = Verdict.UNKNOWN
    if not diff.free_symbols and tolerance:
        d, v = _numeric(a), _numeric(b)
        if d.is_real and v.is_real:
            equal = rounds_to(d, v, sympy.Float(tolerance, _DIGITS))
            return Verdict.EQUAL if equal else Verdict.NOT_EQUAL
    if not diff.free_symbols:
        zero = _numeric_zero(diff, a, b)
        if zero is not None:
            verdict = Verdict.EQUAL if zero else Verdict.NOT_EQUAL
    else:
        zeros = []
        for subs in _substitutions(diff.free_symbols):
            zero = _numeric_zero(diff.xreplace(subs), a.xreplace(subs), b.xreplace(subs))
            if zero is False:  # one non-zero point decides: skip the others
                return Verdict.NOT_EQUAL
            zeros.append(zero)
        if all(z is True for z in zeros):
            verdict = Verdict.EQUAL
    if verdict is Verdict.UNKNOWN and sympy.simplify(diff) == 0:
        verdict = Verdict.EQUAL
    return verdict


def _constant_ratio(da, db) -> Verdict:
    """EQUAL if da/db is the same non-zero constant at three fixed points (exactly for
    rational values, else by `_numeric_zero` on the ratios' differences)."""
    ratios = []
    for subs in _substitutions(da.free_symbols | db.free_symbols):
        num, den = da.xreplace(subs), db.xreplace(subs)
        if not (num.is_number and den.is_number) or _numeric_zero(den) is not False:
            return Verdict.UNKNOWN
        if _numeric_zero(num) is not False:
            return Verdict.NOT_EQUAL  # da vanishes: "0 = 0" is no multiple of an equation
        ratios.append(num / den)
    for ratio in ratios[1:]:
        same = _numeric_zero(ratio - ratios[0], ratio, ratios[0])
        if same is not True:
            return Verdict.NOT_EQUAL if same is False else Verdict.UNKNOWN
    return Verdict.EQUAL


def _relation_verdict(a, b) -> Verdict:
    import sympy
    from sympy.core.relational import Relational
    if isinstance(a, sympy.Eq) and isinstance(b, sympy.Eq):
        da, db = a.lhs - a.rhs, b.lhs - b.rhs
        if _expr_verdict(da, db) is Verdict.EQUAL or _expr_verdict(da, -db) is Verdict.EQUAL:
            return Verdict.EQUAL
        return _constant_ratio(da, db)
    if isinstance(a, Relational) and isinstance(b, Relational):
        def canonical(r):
            strict = isinstance(r, (sympy.StrictGreaterThan, sympy.StrictLessThan))
            if isinstance(r, (sympy.GreaterThan, sympy.StrictGreaterThan)):
                return r.lhs - r.rhs, strict
            if isinstance(r, (sympy.LessThan, sympy.StrictLessThan)):
                return r.rhs - r.lhs, strict
            return None, strict
        ea, sa = canonical(a)
        eb, sb = canonical(b)
        if ea is None or eb is None:
            return Verdict.UNKNOWN
        if sa != sb:
            return Verdict.NOT_EQUAL
        return _expr_verdict(ea, eb)
    return Verdict.UNKNOWN


def _definition_verdict(eq, expr) -> Verdict:
    """`y = f` against `f`: equal when one side of the equation is a lone symbol absent from
    the other side and from `expr`, and the other side equals `expr`."""
    import sympy
    if not isinstance(eq, sympy.Eq) or not isinstance(expr, sympy.Expr):
        return Verdict.NOT_EQUAL
    for var, value in ((eq.lhs, eq.rhs), (eq.rhs, eq.lhs)):
        if (isinstance(var, sympy.Symbol) and var not in value.free_symbols
                and var not in expr.free_symbols):
            return _expr_verdict(value, expr)
    return Verdict.NOT_EQUAL


def _evaluated_matrix(expr):
    """A matrix expression (a sum, product or scalar multiple of explicit matrices) as the
    matrix it evaluates to; anything else unchanged."""
    import sympy
    if isinstance(expr, sympy.MatrixExpr) and not isinstance(expr, sympy.MatrixBase) \
            and not expr.free_symbols:
        value = expr.doit()
        if isinstance(value, sympy.MatrixBase):
            return value
    return expr


def _decimal_places(text: str, min_digits: int) -> dict:
    """{|value|: ulp} of each decimal written in `text` with at least `min_digits`
    significant digits (`1.732` -> {433/250: 1/1000}); a value written twice keeps the finer
    place."""
    import sympy
    places = {}
    for m in _DECIMAL_LITERAL.finditer(text):
        whole, fraction = m.group(1), m.group(2)
        if len((whole + fraction).lstrip("0")) < min_digits:
            continue
        value = sympy.Rational(f"{whole or 0}.{fraction}")
        ulp = sympy.Rational(1, 10 ** len(fraction))
        places[value] = min(ulp, places.get(value, ulp))
    return places


def _rounded_constants(expr, places: dict, other):
    """`expr` with each decimal of `places` replaced by the constant of `other` it is a
    rounding or truncation of (`normalization.rounds_to`): `x + 1.414i` against
    `x + \\sqrt{2}i` becomes `x + \\sqrt{2}i`. The constants are `other`'s number-valued
    subexpressions and the constant factor or term of its products and sums (`2\\sqrt{2}` of
    `2\\sqrt{2}x`); a decimal that rounds none stays. None when nothing was replaced."""
    import sympy
    constants, seen = [], set()
    for node in sympy.preorder_traversal(other):
        if not isinstance(node, sympy.Expr):
            continue
        if isinstance(node, (sympy.Add, sympy.Mul)) and node.free_symbols:
            node = node.as_independent(*node.free_symbols)[0]  # `2\\sqrt{2}` of `2\\sqrt{2}x`
        # An integer is never a rounding's exact value here: a decimal equal to it is equal.
        if node.is_number and not node.is_Integer and node not in seen:
            seen.add(node)
            value = _numeric(node)
            if value.is_real and value != 0:
                constants.append((node, sympy.Abs(value)))
    replacements = {}
    for atom in expr.atoms(sympy.Rational):
        ulp = places.get(abs(atom))
        if ulp is None:
            continue
        for node, magnitude in constants:
            if rounds_to(abs(atom), magnitude, ulp):
                same_sign = (atom > 0) == (_numeric(node) > 0)
                replacements[atom] = node if same_sign else -node
                break
    return expr.xreplace(replacements) if replacements else None


def _compare_in_child(a_text: str, b_text: str, tolerance: float = 0.0,
                      decimal_min_digits: int | None = None) -> Verdict:
    """The verdict on two answers (see the module docstring). With `decimal_min_digits`, a
    decimal inside an expression, relation or matrix of one side (none on the other) may stand
    for a constant of the other side it is a rounding of (`_rounded_constants`)."""
    import sympy
    verdict = _compare_parsed(_parse(a_text), _parse(b_text), tolerance)
    if verdict is Verdict.EQUAL or not decimal_min_digits:
        return verdict
    for x_text, y_text in ((a_text, b_text), (b_text, a_text)):
        places = _decimal_places(x_text, decimal_min_digits)
        if not places or _DECIMAL_LITERAL.search(y_text):
            continue  # no decimal here, or decimals on both sides: those compare exactly
        x, y = _parse(x_text), _parse(y_text)
        if isinstance(x, sympy.Basic) and isinstance(y, sympy.Basic) and not _too_big(y):
            replaced = _rounded_constants(x, places, y)
            if replaced is not None:
                return _compare_parsed(replaced, y)
    return verdict


def _compare_parsed(a, b, tolerance: float = 0.0) -> Verdict:
    import sympy
    from sympy.core.relational import Relational
    if _too_big(a) or _too_big(b):
        return Verdict.UNKNOWN
    a_rel, b_rel = isinstance(a, Relational), isinstance(b, Relational)
    if a_rel and b_rel:
        return _relation_verdict(a, b)
    if a_rel or b_rel:
        return _definition_verdict(a, b) if a_rel else _definition_verdict(b, a)
    a, b = _evaluated_matrix(a), _evaluated_matrix(b)
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)):
            return Verdict.NOT_EQUAL
        if a.shape != b.shape:
            return Verdict.NOT_EQUAL
        verdicts = [_expr_verdict(x, y) for x, y in zip(a, b)]
        from mathft_jax.evaluation.verdict import all_of
        return all_of(verdicts)
    if isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr):
        return _expr_verdict(a, b, tolerance)
    if isinstance(a, sympy.Set) and isinstance(b, sympy.Set):
        return Verdict.EQUAL if a == b else Verdict.UNKNOWN
    return Verdict.UNKNOWN


# ---------------------------------------------------------------------------- parent side


def _startup_timeout_s() -> float:
    """The child's start-up limit: `STARTUP_ENV` when set (a positive number), else 120 s."""
    text = os.environ.get(STARTUP_ENV, "").strip()
    if not text:
        return _STARTUP_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        from mathft_jax.errors import ConfigError
        raise ConfigError(f"{STARTUP_ENV}={text!r}: expected a positive number of seconds")
    return value


class SymbolicWorker:
    """One reusable child process that runs bounded sympy comparisons (thread-safe).

    Args:
      timeout_s: wall-clock bound on one comparison; past it the child is killed.
      memory_limit_bytes: RLIMIT_AS of the child (None: no limit).
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S,
                 memory_limit_bytes: int | None = 4 << 30):
        self.timeout_s = timeout_s
        self.memory_limit_bytes = memory_limit_bytes
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        self._owner_pid: int | None = None
        self.num_timeouts = 0
        self.num_restarts = 0

    def _start(self) -> None:
        env = dict(os.environ)
        # The child must import this very package, wherever the parent found it.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["MATHFT_SYMBOLIC_MEMORY"] = str(self.memory_limit_bytes or 0)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "mathft_jax.evaluation.symbolic"], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._buffer, self._owner_pid = b"", os.getpid()
        limit = _startup_timeout_s()
        started = time.monotonic()
        if self._read_line(limit) != "ready":
            # Imported here: the child imports this module, and needs no gin.
            from mathft_jax.errors import EnvironmentFailure
            status = self._exit_status(still_in_time=time.monotonic() - started < limit)
            self._kill()
            command = "python -m mathft_jax.evaluation.symbolic"
            if status is not None:
                raise EnvironmentFailure(
                    f"the symbolic grading worker ({command}) exited with status {status} "
                    f"before it was ready: run that command to see why")
            raise EnvironmentFailure(
                f"the symbolic grading worker ({command}) was not ready within its start-up "
                f"limit of {limit:g} s (a heavily loaded machine): rerun when the load "
                f"drops, or allow it longer with {STARTUP_ENV}=<seconds>")
        self.num_restarts += 1

    def _exit_status(self, still_in_time: bool) -> int | None:
        """The child's exit status, or None while it runs.

        A child that closed its output before the limit is exiting; its status may not be
        collectable yet at the moment its output ends, so it is waited for (briefly).
        """
        if not still_in_time:
            return self._proc.poll()
        try:
            return self._proc.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def _read_line(self, timeout_s: float) -> str | None:
        """One reply line from the child, or None past `timeout_s` or if the child died."""
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            for stream in (self._proc.stdin, self._proc.stdout):
                stream.close()
        self._proc = None

    def compare(self, a: str, b: str, tolerance: float = 0.0,
                timeout_s: float | None = None,
                decimal_min_digits: int | None = None) -> Verdict:
        """Compares two normalised scalar answers; UNKNOWN on failure, size or time-out.

        Args:
          a, b: normalised answers.
          tolerance: the place of the last digit when `a` is a decimal that may be a rounding
            of `b` (0: exact).
          timeout_s: this call's bound (default: the worker's `timeout_s`).
          decimal_min_digits: significant digits from which a decimal inside an expression
            may stand for a constant of the other side (None: never).
        """
        if len(a) > MAX_SYMBOLIC_CHARS or len(b) > MAX_SYMBOLIC_CHARS:
            return Verdict.UNKNOWN
        bound = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        with self._lock:
            if self._proc is None or self._owner_pid != os.getpid() or self._proc.poll() is not None:
                if self._proc is not None and self._owner_pid == os.getpid():
                    self._kill()
                self._start()
            try:
                request = [a, b, tolerance, decimal_min_digits]
                self._proc.stdin.write((json.dumps(request) + "\n").encode())
                self._proc.stdin.flush()
                reply = self._read_line(bound)
            except (OSError, ValueError):
                reply = None
            if reply is not None:
                return Verdict(reply)
            self.num_timeouts += 1
            self._kill()
            return Verdict.UNKNOWN

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._owner_pid == os.getpid():
                self._kill()


_DEFAULT: SymbolicWorker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_worker() -> SymbolicWorker:
    """The process-wide worker used by `check_equiv` unless one is passed explicitly."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = SymbolicWorker()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


if __name__ == "__main__":
    _child_main(int(os.environ.get("MATHFT_SYMBOLIC_MEMORY", "0")) or None)
