"""Merges several mutation runs (`launch/mutation.sh` work folders) into one score for today's code.

A long mutation run is often done in parts: a first run, then (after new tests or code
changes) reruns of some mutants with `MUTANTS=...`. For each function of today's source, a
run's results count only if that run mutated the very same function text (mutmut numbers
mutants per function, so the names then match); the newest such run that checked a mutant
decides its status.

    python launch/mutation_merge.py build/mutation_final build/mutation_grader build/mutation
        # newest first: a per-file table (markdown) and the score
    python launch/mutation_merge.py --todo build/mutation_grader build/mutation
        # the mutant names (and per-function globs) still to run: never checked, survived,
        # or in a function whose text changed since; pass them as MUTANTS=

Needs mutmut (the `mutation` extra) for its exit-code table.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
KILLED = {"killed", "timeout", "segfault"}


def function_sources(path: Path) -> dict[str, str]:
    """mutmut's mangled name (`x_f`, `xǁClassǁmethod`) of each function in `path` -> its text."""
    text = path.read_text()
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[f"x_{node.name}"] = ast.get_source_segment(text, node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"x\u01c1{node.name}\u01c1{item.name}"] = ast.get_source_segment(text, item)
    return found


def exit_status(code: int) -> str:
    """mutmut's name for a test run's exit code ("killed", "survived", "timeout", ...)."""
    from mutmut.stats import status_by_exit_code  # the `mutation` extra
    return status_by_exit_code[code]


def run_results(run: Path, relative: Path) -> tuple[dict[str, str], dict[str, str | None]]:
    """(function texts, mutant name -> status or None if not checked) of one run for one file."""
    source, meta = run / relative, run / "mutants" / f"{relative}.meta"
    if not source.exists() or not meta.exists():
        return {}, {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return function_sources(source), {
        name: None if code is None else exit_status(code) for name, code in codes.items()}


def merge(runs: list[Path], relative: Path, root: Path = REPO_ROOT
          ) -> tuple[dict[str, str | None], list[str]]:
    """Today's mutants of one file -> merged status; and the functions no run mutated as today."""
    module = ".".join(relative.with_suffix("").parts)
    today = function_sources(root / relative)
    per_run = [run_results(run, relative) for run in runs]
    status, unseen = {}, []
    for function, text in today.items():
        prefix = f"{module}.{function}__mutmut_"
        seen = False
        for sources, results in per_run:
            if sources.get(function) != text:
                continue
            for name, result in results.items():
                if name.startswith(prefix):
                    seen = True
                    if status.get(name) is None:
                        status[name] = result
        if not seen:
            unseen.append(f"{prefix}*")
    return status, unseen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="work folders, newest first")
    parser.add_argument("--files", default="mathft_jax/evaluation/*.py")
    parser.add_argument("--todo", action="store_true", help="print the mutants still to run")
    args = parser.parse_args()
    for run in args.runs:
        if not (run / "mutants").is_dir():
            print(f"error: {run} is not a mutation work folder (no mutants/)", file=sys.stderr)
            return 2
    files = sorted(p.relative_to(REPO_ROOT) for p in REPO_ROOT.glob(args.files)
                   if p.name != "__init__.py")
    todo, rows, totals = [], [], collections.Counter()
    for relative in files:
        status, unseen = merge(args.runs, relative)
        todo += unseen + [name for name, s in status.items() if s is None or s == "survived"]
        tally = collections.Counter(
            "killed" if s in KILLED else "not run" if s is None else s for s in status.values())
        tally["functions not mutated as today"] = len(unseen)
        totals.update(tally)
        rows.append((relative.name, len(status), tally))
    if args.todo:
        print(" ".join(todo))
        return 0
    columns = ["killed", "survived", "no tests", "not run", "functions not mutated as today"]
    print("| module | mutants | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * (len(columns) + 1))
    for name, count, tally in rows + [("**total**", sum(r[1] for r in rows), totals)]:
        print(f"| {name} | {count} | " + " | ".join(str(tally[c]) for c in columns) + " |")
    ran = totals["killed"] + totals["survived"] + totals["no tests"]
    print(f"\nkilled {totals['killed']} of {ran} mutants that ran "
          f"({100 * totals['killed'] / max(1, ran):.1f}% raw); not run: "
          f"{totals['not run']}; functions that no run mutated in today's text: "
          f"{totals['functions not mutated as today']} (changed since, or decorated: mutmut "
          "skips decorated functions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
