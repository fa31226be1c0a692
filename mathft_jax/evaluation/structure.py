"""Splits a normalised answer into its structure: scalar, ordered sequence, set, matrix.

The structure decides the comparison rules (see `equivalence.py`):

* `Seq` — brackets with top-level commas: `(1,2)` (a point, or an open interval: the two are
  written alike and compared alike), `[0,1)`, `(-\\infty,3]`, `(1,2,3)`. Ordered; the opening and
  closing brackets must match exactly, so open vs closed endpoints matter.
* `Unordered` — `\\{1,2\\}`, a bare comma list `1,2,3` (MATH's "enter all solutions separated by
  commas"), or a union `A\\cup B`. Compared as multisets of items (`\\{1,2\\}` equals
  `\\{2,1\\}`), except a bare list, which `Grader(comma_lists="ordered")`, the default, reads
  in the order written.
* `Matrix` — `\\begin{pmatrix}...\\end{pmatrix}` (also bmatrix, matrix, vmatrix, array):
  rows split on `\\\\`, cells on `&`; same shape, cell by cell. A column vector equals the same
  entries written as a 1-column matrix only (not a tuple). Several environments in one answer
  (`\\begin{pmatrix}..\\end{pmatrix}+\\begin{pmatrix}..\\end{pmatrix}`) are a matrix
  expression: a `Scalar`, which a matrix equals when the symbolic stage evaluates the
  expression to it.
* A system (`\\begin{cases}`, `aligned`, `gathered`, `align*`, ...) whose rows are all
  relations: its rows as an `Unordered` of kind "system" (equations in any order), or `Named`
  when every row is `name=constant` with distinct names (`x=2 \\\\ y=3` is `x=2,y=3`). A
  `cases` row holding `&` is a piecewise function: then the whole is a `Scalar`.
* `Named` — several solutions `name=value` with distinct names and constant values
  (`x=2,y=3`, kept so by the normal form): equal to the same names with equal values in any
  order, to a tuple `(2,3)` in the order written, and to a set or comma list as a multiset.
  Several such solutions of the same names in turn (`p=5,q=2;p=7,q=2`, see `named_groups`)
  are an `Unordered` of kind "solutions" holding one `Named` per solution, each in the first
  one's name order: equal to `(5,2),(7,2)` or to the same solutions written in another order.
* `Scalar` — anything else: a number, an expression, an equation or inequality, or text.

Example:
    >>> parse_structure(r"[0,1)\\cup(2,\\infty)")
    Unordered(kind='union', items=(Seq(open='[', close=')', items=(Scalar(text='0'), ...

All scans are single passes with an explicit depth counter (no recursion on the input), so
deeply nested braces are bounded by `MAX_DEPTH`; deeper input is treated as one opaque scalar.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Union

MAX_DEPTH = 50
_OPEN = "([{"
_CLOSE = ")]}"
# One item of several named solutions: a lone variable (`x`, `x_1`, `a_{37}`, `\\theta`) = a
# value.
_NAMED_ITEM = re.compile(r"^([a-zA-Z](?:_\w+|_\{\w+\})?|\\[a-zA-Z]+(?:_\w+|_\{\w+\})?)=([^=<>]+)$")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_ENVIRONMENT = re.compile(r"\\(begin|end)\{\w+\*?\}")
_SYSTEM = re.compile(r"^\\begin\{(cases|aligned|gathered|align\*?|gather\*?|eqnarray\*?)\}"
                     r"(.*)\\end\{\1\}$", re.DOTALL)
_RELATION = re.compile(r"=|<|>|\\leq|\\geq|\\neq")
_MATRIX = re.compile(
    r"^\\begin\{(pmatrix|bmatrix|matrix|vmatrix|Bmatrix|array)\}(?:\{[lcr|]*\})?(.*)"
    r"\\end\{\1\}$", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Scalar:
    text: str


@dataclasses.dataclass(frozen=True)
class Seq:
    open: str
    close: str
    items: tuple["Node", ...]


@dataclasses.dataclass(frozen=True)
class Unordered:
    # "set", "list" (a bare comma list), "union", "system" or "solutions" (named solutions in
    # turn): all are multisets, except that `Grader(comma_lists="ordered")` reads a "list" in
    # the order written.
    kind: str
    items: tuple["Node", ...]


@dataclasses.dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple["Node", ...], ...]
    # The matrix as written, for a comparison with a matrix expression (`A + B`, `AB`).
    text: str = dataclasses.field(default="", compare=False)


@dataclasses.dataclass(frozen=True)
class Named:
    names: tuple[str, ...]
    items: tuple["Node", ...]  # the values, in the order written


Node = Union[Scalar, Seq, Unordered, Matrix, Named]


def _name_value_pairs(items: list[str]) -> list[tuple[str, str]] | None:
    """Each item as (name, constant value), or None when one is not `name=constant`."""
    pairs = []
    for item in items:
        m = _NAMED_ITEM.match(item.strip())
        if m is None or re.search(r"[a-zA-Z]", _COMMAND.sub("", m.group(2))):
            return None
        pairs.append((m.group(1), m.group(2)))
    return pairs


def named_items(items: list[str]) -> list[tuple[str, str]] | None:
    """`(name, value)` of each item when every item is `name=value` with a constant value
    (no variable outside a command such as `\\pi`) and the names are distinct; else None.

    Example:
        >>> named_items(["x=2", "y=3"])
        [('x', '2'), ('y', '3')]
        >>> named_items(["x=2", "x=3"]) is None
        True
    """
    pairs = _name_value_pairs(items)
    if pairs is None:
        return None
    if len({name for name, _ in pairs}) != len(pairs):
        return None
    return pairs


def named_groups(items: list[str]) -> list[list[tuple[str, str]]] | None:
    """Several solutions of the same names, each written `name=value, ...` in turn
    (`p=5,q=2;p=7,q=2`, its `;` already a comma): the `(name, value)` pairs of each solution,
    every one in the first solution's name order; None unless the items split into at least
    two runs of equal length, each naming the same two or more distinct names, with constant
    values.

    A solution ends where a name repeats, so the runs need no separator of their own.

    Example:
        >>> named_groups(["p=5", "q=2", "q=2", "p=7"])
        [[('p', '5'), ('q', '2')], [('p', '7'), ('q', '2')]]
        >>> named_groups(["x=1", "y=2", "x=3"]) is None
        True
    """
    pairs = _name_value_pairs(items)
    if pairs is None:
        return None
    names = [name for name, _ in pairs]
    size = next((i for i, name in enumerate(names) if name in names[:i]), len(names))
    if size < 2 or len(pairs) % size or len(pairs) == size:
        return None
    order = names[:size]
    groups = []
    for start in range(0, len(pairs), size):
        value_of = dict(pairs[start:start + size])
        if len(value_of) != size or set(value_of) != set(order):
            return None
        groups.append([(name, value_of[name]) for name in order])
    return groups


def _depth_profile_ok(s: str) -> bool:
    depth = 0
    for ch in s:
        if ch in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in _CLOSE:
            depth -= 1
    return True


def split_top_level(s: str, sep: str) -> list[str]:
    """Splits `s` on `sep` where no bracket of any kind is open.

    `\\{`/`\\}` count as brackets (by their braces); an escaped `\\\\` row separator is never
    split on `\\`.
    """
    parts, depth, start, i, n, k = [], 0, 0, 0, len(s), len(sep)
    while i < n:
        ch = s[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0 and s.startswith(sep, i):
            parts.append(s[start:i])
            i += k
            start = i
            continue
        i += 1
    parts.append(s[start:])
    return parts


def parse_structure(normal: str) -> Node:
    """Parses a normalised answer into a `Node` (see the module docstring)."""
    if not _depth_profile_ok(normal):
        return Scalar(normal)
    return _parse(normal, budget=[200])


def _parse(s: str, budget: list[int]) -> Node:
    budget[0] -= 1
    if budget[0] < 0:  # Bounds total work on pathological inputs.
        return Scalar(s)
    s = s.strip()
    m = _MATRIX.match(s)
    if m and _one_environment(s):
        # Empty rows (a trailing `\\`) are dropped; each cell strips its own spaces.
        rows = tuple(
            tuple(_parse(c, budget) for c in split_top_level(r, "&"))
            for r in split_top_level(m.group(2), "\\\\") if r.strip())
        return Matrix(rows, s)
    m = _SYSTEM.match(s)
    if m and _one_environment(s):
        system = _system(m.group(1), m.group(2), budget)
        if system is not None:
            return system
    union = split_top_level(s, "\\cup")
    if len(union) > 1:
        return Unordered("union", tuple(_parse(p, budget) for p in union))
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        if _balanced(inner):
            items = [p for p in split_top_level(inner, ",")]
            if items == [""]:
                items = []
            return Unordered("set", tuple(_parse(p, budget) for p in items))
    # A balanced inside means the outer brackets pair up: "(1,2)" is a tuple, "(1)+(2)" not.
    if s and s[0] in "([" and s[-1] in ")]" and _balanced(s[1:-1]):
        items = split_top_level(s[1:-1], ",")
        if len(items) > 1:
            return Seq(s[0], s[-1], tuple(_parse(p, budget) for p in items))
    items = split_top_level(s, ",")
    if len(items) > 1:
        named = named_items(items)
        if named is not None:
            return Named(tuple(n for n, _ in named), tuple(_parse(v, budget) for _, v in named))
        groups = named_groups(items)
        if groups is not None:  # `p=5,q=2,p=7,q=2`: a list of named solutions
            return Unordered("solutions", tuple(
                Named(tuple(n for n, _ in g), tuple(_parse(v, budget) for _, v in g))
                for g in groups))
        return Unordered("list", tuple(_parse(p, budget) for p in items))
    return Scalar(s)


def _system(environment: str, body: str, budget: list[int]) -> Node | None:
    """The node of a system of relations, one per row, or None (not a system: a row without
    a relation, or a `cases` row with `&`, which is a piecewise function's value and its
    condition). Alignment marks `&` of `aligned` and its kin go."""
    rows = [r.strip() for r in split_top_level(body, "\\\\") if r.strip()]
    if environment == "cases":
        if any("&" in r for r in rows):
            return None
    else:
        rows = [r.replace("&", "") for r in rows]
    if not rows or not all(_RELATION.search(r) for r in rows):
        return None
    if len(rows) == 1:
        return _parse(rows[0], budget)
    named = named_items(rows)
    if named is not None:
        return Named(tuple(n for n, _ in named), tuple(_parse(v, budget) for _, v in named))
    return Unordered("system", tuple(_parse(r, budget) for r in rows))


def _one_environment(s: str) -> bool:
    """Whether the environment that opens `s` closes only at its end: not so in a matrix
    expression such as `\\begin{pmatrix}1\\end{pmatrix}+\\begin{pmatrix}2\\end{pmatrix}`,
    which is a scalar (the symbolic stage evaluates it)."""
    depth = 0
    for m in _ENVIRONMENT.finditer(s):
        depth += 1 if m.group(1) == "begin" else -1
        if depth == 0:
            return m.end() == len(s)
    return False


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
