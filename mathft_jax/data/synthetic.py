r"""The built-in synthetic benchmark: short multi-step problems whose answers need
equivalence-aware grading.

Six families (the `subject`): linear equations, fraction arithmetic, radicals, inequalities
(interval answers), linear systems (ordered-pair answers) and function composition (negative
integers). Each problem has 2-4 steps; its level (1-5) sets the step count and number sizes.
Every problem carries

* `solution`: a detailed step-by-step solution ending with `\boxed{answer}`,
* `solution_terse`: the same steps as bare equations,
* `corrupted_solution` / `corrupted_answer`: the detailed solution with one arithmetic slip
  (an intermediate value off by a small amount, propagated to a wrong final answer),
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

A detailed example (linear equation, level 3)::

    Problem: Solve for $x$: $3(x + 2) - 4 = -x + 9$.
    Solution: Expand: $3x + 2 = -x + 9$. Collect terms: $4x = 7$.
              Divide by $4$: $x = \boxed{\frac{7}{4}}$.
    Terse:    $3x + 2 = -x + 9$. $4x = 7$. $x = \boxed{\frac{7}{4}}$.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from fractions import Fraction
from typing import Callable, Sequence

# Bump when the generated text changes: it keys the cached SentencePiece vocabulary.
GENERATOR_VERSION = 2
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
    """Adds `delta` to the value computed at step `step` (no-op when step is None)."""

    def __init__(self, step: int | None = None, delta: int = 0):
        self.step, self.delta = step, delta

    def __call__(self, step: int, value):
        return value + self.delta if step == self.step else value


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


def _nonzero(rng: random.Random, m: int) -> int:
    return rng.choice([v for v in range(-m, m + 1) if v != 0])


# ---------------------------------------------------------------- problem families
# Each family: sample(rng, level) -> params; solve(params, slip) -> _Worked; n_steps(params).


def _linear_sample(rng, level):
    m = _MAGNITUDE[level]
    a = _nonzero(rng, m)
    c = rng.choice([v for v in range(-m, m + 1) if v != a])
    return dict(a=a, b=rng.randint(-m, m), c=c, d=rng.randint(-m, m),
                p=_nonzero(rng, 5) if level >= 3 else 0)


def _linear_solve(pr, slip):
    a, b, c, d, p = pr["a"], pr["b"], pr["c"], pr["d"], pr["p"]
    det, ter, k = [], [], 0
    rhs = _lin(c, d)
    if p:
        lhs = f"{_coef(a, '')}(x{_plus(p)}){_plus(b)}" if a not in (1, -1) else \
            f"{'-' if a < 0 else ''}(x{_plus(p)}){_plus(b)}"
        const = slip(k, a * p + b)
        k += 1
        det.append(f"Expand: ${_lin(a, const)} = {rhs}$.")
        ter.append(f"${_lin(a, const)} = {rhs}$.")
    else:
        lhs, const = _lin(a, b), b
    coef = a - c
    rhs_const = slip(k, d - const)
    k += 1
    det.append(f"Collect terms: ${_coef(coef, 'x')} = {rhs_const}$.")
    ter.append(f"${_coef(coef, 'x')} = {rhs_const}$.")
    x = slip(k, Fraction(rhs_const, coef))
    ans = tex_num(x)
    det.append(f"Divide by ${coef}$: $x = \\boxed{{{ans}}}$.")
    ter.append(f"$x = \\boxed{{{ans}}}$.")
    return _Worked(f"Solve for $x$: ${lhs} = {rhs}$.", det, ter, ans)


def _linear_steps(pr):
    return 3 if pr["p"] else 2


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


def _fractions_solve(pr, slip):
    a, b, c, d, op, mul = pr["a"], pr["b"], pr["c"], pr["d"], pr["op"], pr["mul"]
    sign = 1 if op == "+" else -1
    num = slip(0, a * d + sign * c * b)
    first = f"\\frac{{{a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}}" if a > 0 else \
        f"-\\frac{{{-a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}}"
    value = Fraction(num, b * d)
    unreduced = f"\\frac{{{num}}}{{{b * d}}}"
    reduced = "" if value.denominator == b * d else f" = {tex_num(value)}"
    det = [f"Common denominator ${b * d}$: ${first} = {unreduced}{reduced}$."]
    ter = [f"${unreduced}{reduced}$."]
    problem_expr = first
    if mul is not None:
        problem_expr = f"\\left({first}\\right) \\cdot {_paren(mul)}"
        value = slip(1, value * mul)
        det.append(f"Multiply by ${tex_num(mul)}$: ${tex_num(value)}$.")
        ter.append(f"${tex_num(value)}$.")
    ans = tex_num(value)
    det.append(f"The result is $\\boxed{{{ans}}}$.")
    ter.append(f"$\\boxed{{{ans}}}$.")
    return _Worked(f"Compute ${problem_expr}$.", det, ter, ans)


def _paren(q: Fraction) -> str:
    return f"\\left({tex_num(q)}\\right)" if q < 0 else tex_num(q)


def _fractions_steps(pr):
    return 2 if pr["mul"] is None else 3


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
    j1 = slip(0, k1)
    j2 = slip(1, k2)
    total = slip(2, c * j1 + (j2 if op == "+" else -j2))
    ans = _radical(total, s)
    det = [f"$\\sqrt{{{r1}}} = {_radical(j1, s)}$ and $\\sqrt{{{r2}}} = {_radical(j2, s)}$.",
           f"So ${expr} = \\boxed{{{ans}}}$."]
    ter = [f"${_radical(j1, s)}$, ${_radical(j2, s)}$.", f"$\\boxed{{{ans}}}$."]
    return _Worked(f"Simplify ${expr}$.", det, ter, ans)


def _radicals_steps(pr):
    return 3


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


def _inequality_solve(pr, slip):
    a, b, r, strict = pr["a"], pr["b"], pr["r"], pr["strict"]
    rel = "<" if strict else "\\le"
    if pr["kind"] == "linear":
        grel = (">" if strict else "\\ge") if pr["greater"] else rel
        rhs = slip(0, r - b)
        bound = slip(1, Fraction(rhs, a))
        flips = a < 0
        greater = pr["greater"] != flips
        final_rel = (">" if strict else "\\ge") if greater else rel
        ans = _interval(tex_num(bound), "\\infty", not strict, False) if greater else \
            _interval("-\\infty", tex_num(bound), False, not strict)
        flip_note = " and flip the inequality" if flips else ""
        move = (f"Subtract ${b}$" if b > 0 else f"Add ${-b}$") if b else "We have"
        det = [f"{move}: ${_coef(a, 'x')} {grel} {rhs}$.",
               f"Divide by ${a}${flip_note}: $x {final_rel} {tex_num(bound)}$. "
               f"In interval notation: $\\boxed{{{ans}}}$."]
        ter = [f"${_coef(a, 'x')} {grel} {rhs}$.", f"$x {final_rel} {tex_num(bound)}$, "
               f"$\\boxed{{{ans}}}$."]
        problem = (f"Solve ${_lin(a, b)} {grel} {r}$. Express your answer in interval "
                   "notation.")
        return _Worked(problem, det, ter, ans)
    # |a x - b| (<|<=) r  ->  (b - r)/a .. (b + r)/a
    inner = _lin(a, -b)
    lo_num, hi_num = slip(0, b - r), slip(1, b + r)
    lo, hi = sorted([Fraction(lo_num, a), Fraction(hi_num, a)])
    ans = _interval(tex_num(lo), tex_num(hi), not strict, not strict)
    det = [f"This means ${-r} {rel} {inner} {rel} {r}$, so ${lo_num} {rel} {_coef(a, 'x')} "
           f"{rel} {hi_num}$."]
    ter = [f"${lo_num} {rel} {_coef(a, 'x')} {rel} {hi_num}$."]
    if a != 1:
        det.append(f"Divide by ${a}$: ${tex_num(lo)} {rel} x {rel} {tex_num(hi)}$.")
        ter.append(f"${tex_num(lo)} {rel} x {rel} {tex_num(hi)}$.")
    det.append(f"The solution set is $\\boxed{{{ans}}}$.")
    ter.append(f"$\\boxed{{{ans}}}$.")
    problem = f"Solve $|{inner}| {rel} {r}$. Express your answer in interval notation."
    return _Worked(problem, det, ter, ans)


def _inequality_steps(pr):
    return 2


def _system_sample(rng, level):
    m = _MAGNITUDE[level]
    return dict(a=rng.randint(2, 4) if level >= 3 else 1, s=rng.randint(-3 * m, 3 * m),
                d=rng.randint(-3 * m, 3 * m))


def _system_solve(pr, slip):
    a, s, d = pr["a"], pr["s"], pr["d"]
    total = slip(0, s + d)
    x = slip(1, Fraction(total, a + 1))
    y = slip(2, x - d)
    ans = f"({tex_num(x)}, {tex_num(y)})"
    det = [f"Add the equations: ${a + 1}x = {total}$, so $x = {tex_num(x)}$.",
           f"Then $y = x{_plus(-d)} = {tex_num(y)}$, so $(x, y) = \\boxed{{{ans}}}$."]
    ter = [f"${a + 1}x = {total}$, $x = {tex_num(x)}$.", f"$y = {tex_num(y)}$, "
           f"$\\boxed{{{ans}}}$."]
    problem = (f"Find the ordered pair $(x, y)$ with ${_coef(a, 'x')} + y = {s}$ and "
               f"$x - y = {d}$.")
    return _Worked(problem, det, ter, ans)


def _system_steps(pr):
    return 3


def _functions_sample(rng, level):
    m = _MAGNITUDE[level]
    return dict(a=_nonzero(rng, 5), b=rng.randint(-m, m), c=rng.randint(-m, m),
                k=rng.randint(-4, 4), both=level >= 4)


def _functions_solve(pr, slip):
    a, b, c, k = pr["a"], pr["b"], pr["c"], pr["k"]
    g = slip(0, k * k + c)
    fg = slip(1, a * g + b)
    kt = f"({k})" if k < 0 else str(k)
    det = [f"$g({k}) = {kt}^2{_plus(c)} = {g}$.", f"$f({g}) = {a}\\cdot {_paren(g)}{_plus(b)}"
           f" = {fg}$."]
    ter = [f"$g({k}) = {g}$.", f"$f({g}) = {fg}$."]
    defs = f"If $f(x) = {_lin(a, b)}$ and $g(x) = x^2{_plus(c)}$"
    if pr["both"]:
        fk = slip(2, a * k + b)
        gf = slip(3, fk * fk + c)
        total = fg + gf
        det += [f"$f({k}) = {fk}$ and $g({fk}) = {gf}$.",
                f"The sum is ${fg} + {_paren(gf)} = \\boxed{{{total}}}$."]
        ter += [f"$f({k}) = {fk}$, $g({fk}) = {gf}$.", f"$\\boxed{{{total}}}$."]
        return _Worked(f"{defs}, what is $f(g({k})) + g(f({k}))$?", det, ter, str(total))
    det[-1] += f" So $f(g({k})) = \\boxed{{{fg}}}$."
    ter[-1] += f" $\\boxed{{{fg}}}$."
    return _Worked(f"{defs}, what is $f(g({k}))$?", det, ter, str(fg))


def _functions_steps(pr):
    return 4 if pr["both"] else 2


@dataclasses.dataclass(frozen=True)
class _Family:
    subject: str
    sample: Callable
    solve: Callable
    steps: Callable


FAMILIES: tuple[_Family, ...] = (
    _Family("Linear Equations", _linear_sample, _linear_solve, _linear_steps),
    _Family("Fractions", _fractions_sample, _fractions_solve, _fractions_steps),
    _Family("Radicals", _radicals_sample, _radicals_solve, _radicals_steps),
    _Family("Inequalities", _inequality_sample, _inequality_solve, _inequality_steps),
    _Family("Systems", _system_sample, _system_solve, _system_steps),
    _Family("Functions", _functions_sample, _functions_solve, _functions_steps),
)


def _is_safe(fn: Callable, *args) -> bool:
    try:
        fn(*args)
        return True
    except ZeroDivisionError:
        return False


def generate_problem(seed: int, split: str, index: int,
                     levels: Sequence[int] = LEVELS) -> SyntheticProblem:
    """Problem `index` of `split`; a pure function of its arguments."""
    rng = random.Random(f"mathft-synthetic/v{GENERATOR_VERSION}/{seed}/{split}/{index}")
    level = rng.choice(list(levels))
    family = rng.choice(FAMILIES)
    while True:
        params = family.sample(rng, level)
        if _is_safe(family.solve, params, _Slip()):
            break
    worked = family.solve(params, _Slip())
    # One slip at a random step; retry small deltas until the final answer changes.
    n_steps = family.steps(params)
    corrupted = None
    for _ in range(20):
        slip = _Slip(rng.randrange(n_steps), rng.choice([-2, -1, 1, 2]))
        if _is_safe(family.solve, params, slip):
            cand = family.solve(params, slip)
            if cand.answer != worked.answer:
                corrupted = cand
                break
    if corrupted is None:  # practically unreachable; keep the record well-formed anyway
        raise RuntimeError(f"could not corrupt synthetic problem {seed}/{split}/{index}")
    return SyntheticProblem(
        problem_id=f"synthetic/{split}/{index:06d}", problem=worked.problem,
        solution=" ".join(worked.detailed), solution_terse=" ".join(worked.terse),
        answer=worked.answer, corrupted_solution=" ".join(corrupted.detailed),
        corrupted_answer=corrupted.answer, level=f"Level {level}", subject=family.subject)


@functools.lru_cache(maxsize=16)
def generate_split(split: str, num_examples: int, seed: int = 0, test_size: int = 500,
                   levels: tuple[int, ...] = LEVELS, validation_size: int = 0
                   ) -> tuple[SyntheticProblem, ...]:
    """`num_examples` problems of `split` ("train", "validation" or "test").

    Splits are disjoint by problem text: "validation" skips problems equal to one of the first
    `test_size` test problems, "train" skips those and the first `validation_size` validation
    problems. Ids of a split can therefore have gaps; the split still has `num_examples`.
    """
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    if split == "test":
        return tuple(generate_problem(seed, "test", i, levels) for i in range(num_examples))
    banned = {p.problem for p in generate_split("test", test_size, seed, test_size, levels)}
    if split == "train" and validation_size:
        banned |= {p.problem for p in generate_split("validation", validation_size, seed,
                                                     test_size, levels)}
    out: list[SyntheticProblem] = []
    index = 0
    while len(out) < num_examples:
        p = generate_problem(seed, split, index, levels)
        if p.problem not in banned:
            out.append(p)
        index += 1
    return tuple(out)
