r"""The built-in synthetic benchmark: short multi-step problems whose answers need
equivalence-aware grading.

Six families (the `subject`): linear equations, fraction arithmetic, radicals, inequalities
(interval answers), linear systems (ordered-pair answers) and function composition (negative
integers). A problem's level (1-5) sets its number sizes and how many operations it takes
(level >= 3 adds a distribution or a product; level >= 4 a second composition). Every
problem carries

* `solution`: a detailed solution in which every arithmetic operation is its own step
  (`$-4 - 3 = -7$`), ending with `\boxed{answer}`,
* `solution_terse`: only the equations between those steps, the arithmetic left implicit
  (the contrast of the paper's first finding: fine-grained vs terse training solutions),
* `corrupted_solution` / `corrupted_answer`: the detailed solution with one arithmetic slip
  (one operation's result off by a small amount, propagated to a wrong final answer),
* `answer`: the gold answer in canonical LaTeX (`-\frac{7}{3}`, `5\sqrt{2}`, `[-2, 8]`,
  `(\frac{1}{2}, -3)`), which a grader must compare by value, not by string.

Generation is deterministic: problem `i` of a split depends only on (seed, split, i) through
its own `random.Random`, so a larger split extends a smaller one. Train problems whose text
equals a test (or validation) problem's are skipped, so splits are disjoint by text.

Example:
    >>> p = generate_problem(seed=0, split="train", index=3)
    >>> p.problem_id
    'synthetic/train/000003'
    >>> p.solution.endswith("$.") and r"\boxed{" in p.solution
    True

A detailed example (linear equation, level 1)::

    Problem: Solve for $x$: $-4x + 2 = 3x + 3$.
    Solution: Move the $x$ terms to the left: $-4 - 3 = -7$, so $-7x + 2 = 3$.
              Move the constants to the right: $3 - 2 = 1$, so $-7x = 1$.
              Divide both sides by $-7$: $x = \frac{1}{-7} = -\frac{1}{7}$,
              so $x = \boxed{-\frac{1}{7}}$.
    Terse:    $-7x = 1$. $x = \boxed{-\frac{1}{7}}$.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from fractions import Fraction
from typing import Callable, Sequence

# Bump when the generated text changes: it keys the cached SentencePiece vocabulary.
GENERATOR_VERSION = 3
LEVELS = (1, 2, 3, 4, 5)
_MAGNITUDE = {1: 5, 2: 8, 3: 10, 4: 12, 5: 15}
_SQUAREFREE = (2, 3, 5, 6, 7)


@dataclasses.dataclass(frozen=True)
class SyntheticProblem:
    """One generated problem; string fields mirror `MathProblem` plus the extra solutions."""

    problem_id: str
    problem: str
    solution: str
    solution_terse: str
    answer: str
    corrupted_solution: str
    corrupted_answer: str
    level: str
    subject: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class _Worked:
    problem: str
    detailed: list[str]
    terse: list[str]
    answer: str


class _Slip:
    """Adds `delta` to the result of arithmetic operation number `step` (none when None).

    Solvers pass every computed value through the slip in order, so a clean run also counts
    the problem's operations (`count`): the places where a corrupted solution can go wrong.
    """

    def __init__(self, step: int | None = None, delta: int = 0):
        self.step, self.delta, self.count = step, delta, 0

    def __call__(self, value):
        index, self.count = self.count, self.count + 1
        return value + self.delta if index == self.step else value


# ---------------------------------------------------------------- LaTeX formatting helpers


def tex_num(q: Fraction | int) -> str:
    r"""A rational in lowest terms: `3`, `-3`, `\frac{3}{4}`, `-\frac{3}{4}`."""
    q = Fraction(q)
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def _coef(a: int, var: str) -> str:
    """`x`, `-x`, `3x` for a leading coefficient."""
    return var if a == 1 else ("-" + var if a == -1 else f"{a}{var}")


def _plus(b: int | Fraction) -> str:
    """` + 3`, ` - 3`, or "" for a trailing constant."""
    if b == 0:
        return ""
    return f" + {tex_num(b)}" if b > 0 else f" - {tex_num(-b)}"


def _lin(a: int, b: int, var: str = "x") -> str:
    if a == 0:
        return tex_num(b)
    return _coef(a, var) + _plus(b)


def _radical(c: int, s: int) -> str:
    if c == 0:
        return "0"
    return f"{_coef(c, '')}\\sqrt{{{s}}}" if abs(c) != 1 else ("-" if c < 0 else "") + \
        f"\\sqrt{{{s}}}"


def _operand(q: Fraction | int) -> str:
    """A number as the right operand of an operation: negatives in parentheses."""
    return f"({tex_num(q)})" if q < 0 else tex_num(q)


def _calc(x: Fraction | int, op: str, y: Fraction | int, result: Fraction | int) -> str:
    r"""One arithmetic operation as inline LaTeX, e.g. `$3 - (-1) = 4$`, `$2 \cdot 5 = 10$`.

    `result` is what the solution claims, which a corrupted solution gets wrong.
    """
    return f"${tex_num(x)} {op} {_operand(y)} = {tex_num(result)}$"


# An integer operation as `_calc` writes it (the right operand in parentheses when negative).
_INTEGER_OPERATION = re.compile(r"\$(-?\d+) (\+|-|\\cdot) \(?(-?\d+)\)? = (-?\d+)\$")


def wrong_operations(text: str) -> int:
    r"""How many integer operations written out in `text` (a detailed solution, or a model's
    sample in that style) have a wrong result: the slips a verifier could catch.

    >>> wrong_operations(r"$6 - 5 = 1$, then $2 \cdot (-3) = 6$ and $4 + 4 = 8$.")
    1
    """
    wrong = 0
    for a, op, b, claimed in _INTEGER_OPERATION.findall(text):
        a, b = int(a), int(b)
        wrong += {"+": a + b, "-": a - b}.get(op, a * b) != int(claimed)
    return wrong


def checked_operations(text: str) -> list[tuple[int, bool]]:
    r"""Each integer operation written out in `text` as (end offset, result is right), in
    order: the step labels a process-supervised evaluator learns from (the benchmark's own
    checker, no people and no rollouts needed). The end offset is just past the operation's
    closing `$`.

    >>> checked_operations(r"So $6 - 5 = 1$, then $2 \cdot (-3) = 6$.")
    [(14, True), (39, False)]
    """
    return [(end, ok) for _, end, ok in checked_results(text)]


def checked_results(text: str) -> list[tuple[int, int, bool]]:
    r"""Each integer operation of `text` as (result start, end, result is right): the span
    from the claimed result to just past the closing `$`, which the likelihood verifier
    (`evaluator/verifier.py`) scores and is trained on.

    >>> checked_results(r"So $6 - 5 = 1$, then $2 \cdot (-3) = 6$.")
    [(12, 14, True), (37, 39, False)]
    """
    out = []
    for match in _INTEGER_OPERATION.finditer(text):
        a, op, b, claimed = match.groups()
        a, b = int(a), int(b)
        out.append((match.start(4), match.end(),
                    {"+": a + b, "-": a - b}.get(op, a * b) == int(claimed)))
    return out


def _quotient(num: int, den: int, result: Fraction) -> str:
    r"""`\frac{num}{den} = result` for a division step, or just `result` when the fraction is
    already what is claimed (e.g. `\frac{7}{4}`)."""
    written = f"\\frac{{{num}}}{{{den}}}"
    return tex_num(result) if written == tex_num(result) else f"{written} = {tex_num(result)}"


def _nonzero(rng: random.Random, m: int) -> int:
    return rng.choice([v for v in range(-m, m + 1) if v != 0])


# ---------------------------------------------------------------- problem families
# Each family: sample(rng, level) -> params; solve(params, slip) -> _Worked. The detailed
# solution writes every arithmetic operation as its own step (`_calc`) and passes its result
# through `slip`; the terse one keeps only the equations in between.


def _linear_sample(rng, level):
    m = _MAGNITUDE[level]
    a = _nonzero(rng, m)
    c = rng.choice([v for v in range(-m, m + 1) if v != a])
    return dict(a=a, b=rng.randint(-m, m), c=c, d=rng.randint(-m, m),
                p=_nonzero(rng, 5) if level >= 3 else 0)


def _linear_lhs(a: int, b: int, p: int) -> str:
    if not p:
        return _lin(a, b)
    inner = f"(x{_plus(p)})"
    lead = "-" if a == -1 else ("" if a == 1 else str(a))
    return f"{lead}{inner}{_plus(b)}"


def _linear_solve(pr, slip):
    a, b, c, d, p = pr["a"], pr["b"], pr["c"], pr["d"], pr["p"]
    det, ter = [], []
    rhs = _lin(c, d)
    const = b
    if p:
        ap = slip(a * p)
        det.append(f"Distribute: {_calc(a, chr(92) + 'cdot', p, ap)}, so "
                   f"${_lin(a, ap)}{_plus(b)} = {rhs}$.")
        const = ap
        if b:
            const = slip(ap + b)
            det.append(f"Combine the constants: {_calc(ap, '+', b, const)}, so "
                       f"${_lin(a, const)} = {rhs}$.")
        ter.append(f"${_lin(a, const)} = {rhs}$.")
    coef = a
    if c:
        coef = slip(a - c)
        det.append(f"Move the $x$ terms to the left: {_calc(a, '-', c, coef)}, so "
                   f"${_lin(coef, const)} = {d}$.")
    rhs_const = d
    if const:
        rhs_const = slip(d - const)
        det.append(f"Move the constants to the right: {_calc(d, '-', const, rhs_const)}, so "
                   f"${_coef(coef, 'x')} = {rhs_const}$.")
    ter.append(f"${_coef(coef, 'x')} = {rhs_const}$.")
    if coef == 1:
        x = Fraction(rhs_const)
        det.append(f"So $x = \\boxed{{{tex_num(x)}}}$.")
    else:
        x = slip(Fraction(rhs_const, coef))
        det.append(f"Divide both sides by ${coef}$: "
                   f"$x = {_quotient(rhs_const, coef, x)}$, so $x = \\boxed{{{tex_num(x)}}}$.")
    ans = tex_num(x)
    ter.append(f"$x = \\boxed{{{ans}}}$.")
    return _Worked(f"Solve for $x$: ${_linear_lhs(a, b, p)} = {rhs}$.", det, ter, ans)


def _frac(rng, m):
    while True:
        q = Fraction(_nonzero(rng, m), rng.randint(2, m))
        if abs(q) != 1:
            return q


def _fractions_sample(rng, level):
    m = _MAGNITUDE[level]
    return dict(b=rng.randint(2, m), a=_nonzero(rng, m), d=rng.randint(2, m),
                c=rng.randint(1, m), op=rng.choice("+-"),
                mul=_frac(rng, m) if level >= 3 else None)


def _reduce_step(num: int, den: int, det: list[str]) -> Fraction:
    """Appends `Reduce: ...` when `num/den` is not in lowest terms; returns the value."""
    value = Fraction(num, den)
    if f"\\frac{{{num}}}{{{den}}}" != tex_num(value):
        det.append(f"Reduce: $\\frac{{{num}}}{{{den}}} = {tex_num(value)}$.")
    return value


def _fractions_solve(pr, slip):
    a, b, c, d, op, mul = pr["a"], pr["b"], pr["c"], pr["d"], pr["op"], pr["mul"]
    first = f"\\frac{{{a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}}" if a > 0 else \
        f"-\\frac{{{-a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}}"
    cdot = "\\cdot"
    den = slip(b * d)
    left, right = slip(a * d), slip(c * b)
    num = slip(left + right if op == "+" else left - right)
    verb = "Add" if op == "+" else "Subtract"
    det = [f"Common denominator: {_calc(b, cdot, d, den)}.",
           f"First numerator: {_calc(a, cdot, d, left)}.",
           f"Second numerator: {_calc(c, cdot, b, right)}.",
           f"{verb} the numerators: {_calc(left, op, right, num)}, "
           f"so the result is $\\frac{{{num}}}{{{den}}}$."]
    value = _reduce_step(num, den, det)
    unreduced = f"\\frac{{{num}}}{{{den}}}"
    reduced = "" if tex_num(value) == unreduced else f" = {tex_num(value)}"
    ter = [f"${unreduced}{reduced}$."]
    problem_expr = first
    if mul is not None:
        problem_expr = f"\\left({first}\\right) \\cdot {_paren(mul)}"
        top = slip(value.numerator * mul.numerator)
        bottom = slip(value.denominator * mul.denominator)
        det += [f"Multiply by ${tex_num(mul)}$. Numerators: "
                f"{_calc(value.numerator, cdot, mul.numerator, top)}.",
                f"Denominators: {_calc(value.denominator, cdot, mul.denominator, bottom)}."]
        value = _reduce_step(top, bottom, det)
        ter.append(f"${tex_num(value)}$.")
    ans = tex_num(value)
    det.append(f"The result is $\\boxed{{{ans}}}$.")
    ter.append(f"$\\boxed{{{ans}}}$.")
    return _Worked(f"Compute ${problem_expr}$.", det, ter, ans)


def _paren(q: Fraction) -> str:
    return f"\\left({tex_num(q)}\\right)" if q < 0 else tex_num(q)


def _radicals_sample(rng, level):
    s = rng.choice(_SQUAREFREE)
    top = 4 + 2 * level
    k1, k2 = rng.randint(2, top), rng.randint(1, top)
    c = rng.choice([1, 2, 3, -2, -3] if level >= 3 else [1, 2, 3])
    op = rng.choice("+-")
    if c * k1 + (k2 if op == "+" else -k2) == 0:
        k2 += 1
    return dict(s=s, k1=k1, k2=k2, c=c, op=op)


def _radicals_solve(pr, slip):
    s, k1, k2, c, op = pr["s"], pr["k1"], pr["k2"], pr["c"], pr["op"]
    r1, r2 = k1 * k1 * s, k2 * k2 * s
    lead = "" if c == 1 else ("-" if c == -1 else str(c))
    expr = f"{lead}\\sqrt{{{r1}}} {op} \\sqrt{{{r2}}}"
    j1, j2 = slip(k1), slip(k2)
    det = [f"${r1} = {k1}^2 \\cdot {s}$, so $\\sqrt{{{r1}}} = {_radical(j1, s)}$.",
           f"${r2} = {k2}^2 \\cdot {s}$, so $\\sqrt{{{r2}}} = {_radical(j2, s)}$."]
    first = j1
    if c != 1:
        first = slip(c * j1)
        det.append(f"Multiply: {_calc(c, chr(92) + 'cdot', j1, first)}.")
    total = slip(first + j2 if op == "+" else first - j2)
    ans = _radical(total, s)
    det += [f"Combine the coefficients of $\\sqrt{{{s}}}$: {_calc(first, op, j2, total)}.",
            f"So ${expr} = \\boxed{{{ans}}}$."]
    ter = [f"${_radical(j1, s)}$, ${_radical(j2, s)}$.", f"$\\boxed{{{ans}}}$."]
    return _Worked(f"Simplify ${expr}$.", det, ter, ans)


def _inequality_sample(rng, level):
    m = _MAGNITUDE[level]
    kind = "linear" if level <= 2 or rng.random() < 0.4 else "abs"
    a = _nonzero(rng, 4 if level <= 3 else m) if (kind == "linear" or level == 5) else 1
    if kind == "linear" and level == 1:
        a = abs(a)
    r = rng.randint(1, m) if kind == "abs" else rng.randint(-2 * m, 2 * m)
    return dict(kind=kind, a=a, b=rng.randint(-m, m), r=r,
                strict=rng.random() < 0.5, greater=rng.random() < 0.5)


def _interval(lo: str, hi: str, closed_lo: bool, closed_hi: bool) -> str:
    return f"{'[' if closed_lo else '('}{lo}, {hi}{']' if closed_hi else ')'}"


def _linear_inequality(pr, slip):
    a, b, r, strict = pr["a"], pr["b"], pr["r"], pr["strict"]
    rel = "<" if strict else "\\le"
    grel = (">" if strict else "\\ge") if pr["greater"] else rel
    det = []
    rhs = r
    if b:
        rhs = slip(r - b)
        det.append(f"Subtract ${b}$ from both sides: {_calc(r, '-', b, rhs)}, so "
                   f"${_coef(a, 'x')} {grel} {rhs}$.")
    flips = a < 0
    greater = pr["greater"] != flips
    final_rel = (">" if strict else "\\ge") if greater else rel
    bound = Fraction(rhs)
    if a != 1:
        bound = slip(Fraction(rhs, a))
        flip_note = " and flip the inequality" if flips else ""
        det.append(f"Divide both sides by ${a}${flip_note}: "
                   f"$x {final_rel} {_quotient(rhs, a, bound)}$.")
    ans = _interval(tex_num(bound), "\\infty", not strict, False) if greater else \
        _interval("-\\infty", tex_num(bound), False, not strict)
    det.append(f"So $x {final_rel} {tex_num(bound)}$; in interval notation, "
               f"$\\boxed{{{ans}}}$.")
    ter = [f"${_coef(a, 'x')} {grel} {rhs}$.",
           f"$x {final_rel} {tex_num(bound)}$, $\\boxed{{{ans}}}$."]
    problem = f"Solve ${_lin(a, b)} {grel} {r}$. Express your answer in interval notation."
    return _Worked(problem, det, ter, ans)


def _abs_inequality(pr, slip):
    """|a x - b| (<|<=) r  ->  (b - r)/a .. (b + r)/a."""
    a, b, r, strict = pr["a"], pr["b"], pr["r"], pr["strict"]
    rel = "<" if strict else "\\le"
    inner = _lin(a, -b)
    det = [f"This means ${-r} {rel} {inner} {rel} {r}$."]
    lo_num, hi_num = -r, r
    if b:
        lo_num, hi_num = slip(-r + b), slip(r + b)
        det += [f"Add ${b}$ to each part. Left: {_calc(-r, '+', b, lo_num)}.",
                f"Right: {_calc(r, '+', b, hi_num)}."]
    det[-1] += f" So ${lo_num} {rel} {_coef(a, 'x')} {rel} {hi_num}$."
    ter = [f"${lo_num} {rel} {_coef(a, 'x')} {rel} {hi_num}$."]
    lo, hi = Fraction(lo_num), Fraction(hi_num)
    if a != 1:
        lo, hi = slip(Fraction(lo_num, a)), slip(Fraction(hi_num, a))
        flip_note = " and flip the inequalities" if a < 0 else ""
        det += [f"Divide each part by ${a}${flip_note}. Left: "
                f"${_quotient(lo_num, a, lo)}$.", f"Right: ${_quotient(hi_num, a, hi)}$."]
        lo, hi = sorted([lo, hi])
        det[-1] += f" So ${tex_num(lo)} {rel} x {rel} {tex_num(hi)}$."
        ter.append(f"${tex_num(lo)} {rel} x {rel} {tex_num(hi)}$.")
    ans = _interval(tex_num(lo), tex_num(hi), not strict, not strict)
    det.append(f"The solution set is $\\boxed{{{ans}}}$.")
    ter.append(f"$\\boxed{{{ans}}}$.")
    problem = f"Solve $|{inner}| {rel} {r}$. Express your answer in interval notation."
    return _Worked(problem, det, ter, ans)


def _inequality_solve(pr, slip):
    return (_linear_inequality if pr["kind"] == "linear" else _abs_inequality)(pr, slip)


def _system_sample(rng, level):
    m = _MAGNITUDE[level]
    return dict(a=rng.randint(2, 4) if level >= 3 else 1, s=rng.randint(-3 * m, 3 * m),
                d=rng.randint(-3 * m, 3 * m))


def _system_solve(pr, slip):
    a, s, d = pr["a"], pr["s"], pr["d"]
    a1 = slip(a + 1)
    total = slip(s + d)
    x = slip(Fraction(total, a1))
    y = slip(x - d)
    ans = f"({tex_num(x)}, {tex_num(y)})"
    det = [f"Add the equations to eliminate $y$. Coefficient of $x$: {_calc(a, '+', 1, a1)}.",
           f"Right-hand side: {_calc(s, '+', d, total)}, so ${_coef(a1, 'x')} = {total}$.",
           f"Divide by ${a1}$: $x = {_quotient(total, a1, x)}$.",
           f"From $x - y = {d}$: $y = x{_plus(-d)}$, and {_calc(x, '-', d, y)}.",
           f"So $(x, y) = \\boxed{{{ans}}}$."]
    ter = [f"${_coef(a1, 'x')} = {total}$, $x = {tex_num(x)}$.", f"$y = {tex_num(y)}$, "
           f"$\\boxed{{{ans}}}$."]
    problem = (f"Find the ordered pair $(x, y)$ with ${_coef(a, 'x')} + y = {s}$ and "
               f"$x - y = {d}$.")
    return _Worked(problem, det, ter, ans)


def _functions_sample(rng, level):
    m = _MAGNITUDE[level]
    return dict(a=_nonzero(rng, 5), b=rng.randint(-m, m), c=rng.randint(-m, m),
                k=rng.randint(-4, 4), both=level >= 4)


def _apply_g(k: int, c: int, slip, det: list[str]) -> int:
    """g(k) = k^2 + c, one step per operation."""
    square = slip(k * k)
    det.append(f"$g({k})$: ${_operand(k)}^2 = {square}$.")
    if not c:
        return square
    value = slip(square + c)
    det.append(f"{_calc(square, '+', c, value)}, so $g({k}) = {value}$.")
    return value


def _apply_f(a: int, b: int, k: int, slip, det: list[str]) -> int:
    """f(k) = a k + b, one step per operation."""
    product = slip(a * k)
    det.append(f"$f({k})$: {_calc(a, chr(92) + 'cdot', k, product)}.")
    if not b:
        return product
    value = slip(product + b)
    det.append(f"{_calc(product, '+', b, value)}, so $f({k}) = {value}$.")
    return value


def _functions_solve(pr, slip):
    a, b, c, k = pr["a"], pr["b"], pr["c"], pr["k"]
    det: list[str] = []
    g = _apply_g(k, c, slip, det)
    fg = _apply_f(a, b, g, slip, det)
    ter = [f"$g({k}) = {g}$.", f"$f({g}) = {fg}$."]
    defs = f"If $f(x) = {_lin(a, b)}$ and $g(x) = x^2{_plus(c)}$"
    if pr["both"]:
        fk = _apply_f(a, b, k, slip, det)
        gf = _apply_g(fk, c, slip, det)
        total = slip(fg + gf)
        det.append(f"The sum: {_calc(fg, '+', gf, total)}, so the answer is "
                   f"$\\boxed{{{total}}}$.")
        ter += [f"$f({k}) = {fk}$, $g({fk}) = {gf}$.", f"$\\boxed{{{total}}}$."]
        return _Worked(f"{defs}, what is $f(g({k})) + g(f({k}))$?", det, ter, str(total))
    det.append(f"So $f(g({k})) = \\boxed{{{fg}}}$.")
    ter[-1] += f" $\\boxed{{{fg}}}$."
    return _Worked(f"{defs}, what is $f(g({k}))$?", det, ter, str(fg))


@dataclasses.dataclass(frozen=True)
class _Family:
    subject: str
    sample: Callable
    solve: Callable


FAMILIES: tuple[_Family, ...] = (
    _Family("Linear Equations", _linear_sample, _linear_solve),
    _Family("Fractions", _fractions_sample, _fractions_solve),
    _Family("Radicals", _radicals_sample, _radicals_solve),
    _Family("Inequalities", _inequality_sample, _inequality_solve),
    _Family("Systems", _system_sample, _system_solve),
    _Family("Functions", _functions_sample, _functions_solve),
)


def _solve_or_none(family: _Family, params: dict, slip: _Slip) -> _Worked | None:
    """The worked solution, or None when `params` (or the slip) would divide by zero."""
    try:
        return family.solve(params, slip)
    except ZeroDivisionError:
        return None


def _corrupt(family: _Family, params: dict, answer: str, operations: int,
             rng: random.Random) -> _Worked | None:
    """The solution with one slip at a random operation that changes the final answer (None
    when 20 tries do not: e.g. `4x = 3x`, where any slip in the coefficient still gives 0)."""
    for _ in range(20):
        slip = _Slip(rng.randrange(operations), rng.choice([-2, -1, 1, 2]))
        cand = _solve_or_none(family, params, slip)
        if cand is not None and cand.answer != answer:
            return cand
    return None


def select_families(subjects: Sequence[str] | None = None) -> tuple[_Family, ...]:
    """The families named by `subjects` (their `subject` strings), all of them for None."""
    if subjects is None:
        return FAMILIES
    known = {f.subject: f for f in FAMILIES}
    unknown = [s for s in subjects if s not in known]
    if unknown or not subjects:
        raise ValueError(f"families must be a non-empty subset of {sorted(known)}, got "
                         f"{tuple(subjects)}")
    return tuple(f for f in FAMILIES if f.subject in subjects)


def generate_problem(seed: int, split: str, index: int, levels: Sequence[int] = LEVELS,
                     families: Sequence[str] | None = None) -> SyntheticProblem:
    """Problem `index` of `split`; a pure function of its arguments.

    `families` restricts the subjects drawn (None: all six, in `FAMILIES` order).
    """
    rng = random.Random(f"mathft-synthetic/v{GENERATOR_VERSION}/{seed}/{split}/{index}")
    level = rng.choice(list(levels))
    family = rng.choice(select_families(families))
    while True:  # resample until the problem has an operation whose slip changes the answer
        params = family.sample(rng, level)
        counter = _Slip()
        worked = _solve_or_none(family, params, counter)
        if worked is not None and counter.count:
            corrupted = _corrupt(family, params, worked.answer, counter.count, rng)
            if corrupted is not None:
                break
    return SyntheticProblem(
        problem_id=f"synthetic/{split}/{index:06d}", problem=worked.problem,
        solution=" ".join(worked.detailed), solution_terse=" ".join(worked.terse),
        answer=worked.answer, corrupted_solution=" ".join(corrupted.detailed),
        corrupted_answer=corrupted.answer, level=f"Level {level}", subject=family.subject)


@functools.lru_cache(maxsize=16)
def generate_split(split: str, num_examples: int, seed: int = 0, test_size: int = 500,
                   levels: tuple[int, ...] = LEVELS, validation_size: int = 0,
                   families: tuple[str, ...] | None = None) -> tuple[SyntheticProblem, ...]:
    """`num_examples` problems of `split` ("train", "validation" or "test").

    Splits are disjoint by problem text: "validation" skips problems equal to one of the first
    `test_size` test problems, "train" skips those and the first `validation_size` validation
    problems. Ids of a split can therefore have gaps; the split still has `num_examples`.
    """
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    if split == "test":
        return tuple(generate_problem(seed, "test", i, levels, families)
                     for i in range(num_examples))
    banned = {p.problem for p in generate_split("test", test_size, seed, test_size, levels,
                                                families=families)}
    if split == "train" and validation_size:
        banned |= {p.problem for p in generate_split("validation", validation_size, seed,
                                                     test_size, levels, families=families)}
    out: list[SyntheticProblem] = []
    index = 0
    while len(out) < num_examples:
        p = generate_problem(seed, split, index, levels, families)
        if p.problem not in banned:
            out.append(p)
        index += 1
    return tuple(out)
