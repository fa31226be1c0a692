"""Mutation testing on a small CPU budget: every mutant of some files, or a fixed random sample.

`launch/mutation.sh` lets mutmut map tests to mutants, which first runs the whole test
selection twice (instrumented, then clean). For modules whose tests compile and train small
models that costs more than the mutants themselves on a shared 2-core machine. This script
uses mutmut only to generate the mutants, then runs, for each chosen mutant, one given test
subset with `-x` in a process forked from one that imported the tests once (killed = a test fails, survived = all pass, timeout =
over the limit). It writes the results into mutmut's own `.meta` records, so
`launch/mutation_merge.py` and `mutmut show NAME` work on the folder as on a mutation.sh run.

    python launch/mutation_sample.py --work build/mut_sampling \
        --files mathft_jax/decoding/sampling.py --tests tests/decoding/test_sampling.py
    python launch/mutation_sample.py ... --sample 40 --seed 0   # 40 mutants drawn with seed 0
    python launch/mutation_sample.py ... --mutants NAME ...     # only these (e.g. reruns)

Before the mutants it checks the setup: the subset passes on the unchanged code, and fails
when mutmut's "fail" switch is on (so the tests really import the mutated copy).
Needs mutmut (the `mutation` extra).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_CODE = 36  # mutmut's exit code for "timeout"
# pytest's exit codes: 1 tests failed, 2 interrupted (e.g. an error while collecting), 3
# internal error; 5 (no tests ran) and the rest are not kills.
STATUS = {0: "survived", 1: "killed", 2: "killed", 3: "killed", TIMEOUT_CODE: "timeout"}


def prepare(work: Path, files: list[str]) -> None:
    """A scratch copy of the tracked and unignored files, with mutmut's configuration."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, work / name)
    lines = ["[mutmut]", "source_paths = mathft_jax", "only_mutate ="]
    lines += [f"    {f}" for f in files]
    lines += ["do_not_mutate =", "    */__init__.py",
              "also_copy =", "    pytest.ini", "    tasks", "    gin_configs", "    tests"]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")


def generate(work: Path) -> dict[Path, list[str]]:
    """Runs mutmut's mutant generation in `work`; its `.meta` file -> mutant names."""
    code = ("from mutmut.__main__ import *\n"
            "from mutmut.mutation.trampoline import set_mutant_under_test\n"
            "set_mutant_under_test('mutant_generation')\n"
            "import os; os.makedirs('mutants', exist_ok=True)\n"
            "copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants(1)\n")
    subprocess.run([sys.executable, "-c", code], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    return {meta: sorted(json.loads(meta.read_text())["exit_code_by_key"])
            for meta in sorted((work / "mutants").rglob("*.py.meta"))}


def collect(work: Path, tests: list[str]) -> None:
    """Imports the mutated copy and the test modules once, in this process, without running
    a test: every mutant's run then forks from here instead of paying the imports (seqio,
    TensorFlow, JAX: most of a run of a small test file). Nothing may start JAX before the
    forks (a forked JAX runtime with threads can deadlock), so only collection happens here."""
    os.chdir(work / "mutants")
    sys.path.insert(0, str(work / "mutants"))
    # For the processes that tests start: the mutated copy first, and mutmut, which the
    # mutated files import (its trampolines read MUTANT_UNDER_TEST, which children inherit).
    import mutmut
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(work / "mutants"), str(Path(mutmut.__file__).resolve().parents[1])])
    os.environ["MUTANT_UNDER_TEST"] = ""
    import pytest
    with open(os.devnull, "w") as quiet:
        saved = os.dup(1), os.dup(2)
        os.dup2(quiet.fileno(), 1), os.dup2(quiet.fileno(), 2)
        try:
            code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *tests])
        finally:
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    if code != 0:
        raise SystemExit(f"error: collecting {tests} failed (pytest exit {code})")


def run_tests(tests: list[str], mutant: str, timeout: float) -> tuple[int, float]:
    """pytest's exit code (or TIMEOUT_CODE) and the wall time, with `mutant` switched on, in
    a child forked from this process."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: its own session, so a time-out kills what it started too
        os.setsid()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1), os.dup2(devnull, 2)
        os.environ["MUTANT_UNDER_TEST"] = mutant
        code = 4
        try:
            import pytest
            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests]))
        finally:
            os._exit(code)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.monotonic() - start
        if time.monotonic() - start > timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return TIMEOUT_CODE, time.monotonic() - start
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (recreated)")
    parser.add_argument("--files", nargs="+", required=True, help="source files to mutate")
    parser.add_argument("--tests", nargs="+", required=True,
                        help="pytest arguments: the test subset (paths, -k, --deselect ...)")
    parser.add_argument("--sample", type=int, help="run only this many mutants, drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    parser.add_argument("--mutants", nargs="+", help="only these mutant names (fnmatch globs)")
    parser.add_argument("--timeout", type=float,
                        help="seconds per mutant (default: 20 + 5 x the clean run's), e.g. to "
                             "cut short a loop that never ends when the clean run is slow")
    args = parser.parse_args()

    work = args.work.resolve()
    prepare(work, args.files)
    metas = generate(work)
    names = [n for found in metas.values() for n in found]
    if args.mutants:
        names = [n for n in names if any(fnmatch.fnmatchcase(n, g) for g in args.mutants)]
    if args.sample is not None and args.sample < len(names):
        names = sorted(random.Random(args.seed).sample(names, args.sample))
    print(f"{sum(map(len, metas.values()))} mutants generated; running {len(names)}", flush=True)

    metas = {meta.resolve(): found for meta, found in metas.items()}
    collect(work, args.tests)
    code, clean_s = run_tests(args.tests, "", timeout=3600)
    if code != 0:
        print(f"error: the tests fail on unchanged code (pytest exit {code})", file=sys.stderr)
        return 1
    if run_tests(args.tests, "fail", timeout=3600)[0] == 0:
        print("error: the tests pass with mutmut's fail switch on: they do not run the "
              "mutated copy", file=sys.stderr)
        return 1
    # Generous: the machine is shared, and a slow mutant is a survivor, not a time-out.
    timeout = args.timeout if args.timeout is not None else 20 + 5 * clean_s
    print(f"clean run {clean_s:.0f} s; time limit per mutant {timeout:.0f} s", flush=True)

    codes: dict[str, int] = {}
    for index, name in enumerate(names, 1):
        codes[name], took = run_tests(args.tests, name, timeout)
        status = STATUS.get(codes[name], f"suspicious (pytest exit {codes[name]})")
        print(f"[{index}/{len(names)}] {name}: {status} ({took:.0f} s)", flush=True)
        for meta in metas:  # after each mutant, so an interrupted run keeps its results
            record = json.loads(meta.read_text())
            if name in record["exit_code_by_key"]:
                record["exit_code_by_key"][name] = codes[name]
                meta.write_text(json.dumps(record))
    survivors = [n for n, c in codes.items() if c == 0]
    tally = {s: sum(STATUS.get(c) == s for c in codes.values())
             for s in ("killed", "survived", "timeout")}
    print(f"ran {len(codes)}: " + ", ".join(f"{s} {n}" for s, n in tally.items())
          + f", other {len(codes) - sum(tally.values())}")
    print("survivors:", *survivors, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
