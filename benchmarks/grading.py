"""Grading agreement with the field's test suites and throughput, ours vs math-verify.

Agreement: every case of the ported peer suites (`tests/evaluation/cases/*.jsonl`: Math-Verify,
MARIO_EVAL, NeMo-Skills, Qwen2.5-Math, Hendrycks MATH, lm-eval's known failures) is graded by
`extract_answer` + `is_equiv` and by math-verify's `verify(parse(gold), parse(pred))` in the same
run (as given, and with bare answers wrapped in `$...$`, math-verify's best case); a case that
carries its test's setup (`extract`, see `peer_cases.py`) is graded under it by both (for
math-verify: its LaTeX extraction target alone). Printed: the share of cases whose verdict
equals the suite's, per source and overall, how many of the others are "equal" where the
suite says "different" (false "equal", on a line of its own for ours) and the reverse, and our
slowest case; `--show_disagreements` lists our disagreeing cases; `--comma_lists unordered`
grades with `Grader(comma_lists="unordered")` instead of the default.

Throughput:
Data: the MATH500 gold answers (from `../shared/data/math` or $MATHFT_MATH_DIR) and, per
problem, `--samples` synthetic sampled answers drawn with a fixed seed: 40% the gold answer,
20% an equivalent rewrite of it (`x = `, `\\dfrac`, spacing, a unit, a decimal form of a
fraction), 40% the gold answer of another random problem (a wrong answer). Caches are cleared
before each timed phase.

Prints, for our grader: answers graded per second (each sample against its gold) and the
time to cluster all problems' samples; if math-verify is installed, the same measured on the
first `--mv_problems` problems (it is slower), and the ratio of rates.

    python benchmarks/grading.py [--problems 500 --samples 64 --mv_problems 50 --agreement_only
                                  --show_disagreements --patient --comma_lists ordered]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import sys
import time
from pathlib import Path

from mathft_jax.evaluation import normalization
from mathft_jax.evaluation.answer_extraction import extract_answer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.evaluation.peer_cases import load_cases  # noqa: E402  (the ported suites)
from mathft_jax.evaluation.clustering import cluster_labels
from mathft_jax.evaluation.equivalence import Grader, _structure
from mathft_jax.evaluation.symbolic import SymbolicWorker
from mathft_jax.evaluation.verdict import Verdict


def _math_dir() -> Path:
    env = os.environ.get("MATHFT_MATH_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "math"


def load_golds(n: int) -> list[str]:
    d = _math_dir()
    ids = set((d / "math500_ids.txt").read_text().split())
    golds = []
    with open(d / "test.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["unique_id"] in ids:
                answer = extract_answer(row["solution"])
                if answer:
                    golds.append(answer)
    return golds[:n]


def _rewrite(gold: str, rng: random.Random) -> str:
    m = re.fullmatch(r"\\frac\{(\d)\}\{(2|4|5|8)\}", gold)
    if m and rng.random() < 0.5:
        return str(int(m.group(1)) / int(m.group(2)))
    choice = rng.randrange(4)
    if choice == 0:
        return "x = " + gold
    if choice == 1:
        return gold.replace("\\frac", "\\dfrac") + " "
    if choice == 2 and re.fullmatch(r"-?\d+", gold):
        return gold + "\\text{ units}"
    return " ".join(gold)  if len(gold) < 12 and "\\" not in gold else gold + "."


def make_samples(golds: list[str], num_samples: int, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for gold in golds:
        samples = []
        for _ in range(num_samples):
            r = rng.random()
            if r < 0.4:
                samples.append(gold)
            elif r < 0.6:
                samples.append(_rewrite(gold, rng))
            else:
                samples.append(rng.choice(golds))
        out.append(samples)
    return out


def _clear_caches() -> None:
    normalization.normalize_answer.cache_clear()
    normalization.as_rational.cache_clear()
    _structure.cache_clear()


def bench_ours(golds, samples, worker):
    _clear_caches()
    grader = Grader(worker)
    start = time.perf_counter()
    correct = unknown = 0
    for gold, answers in zip(golds, samples):
        for a in answers:
            v = grader.check(gold, a)
            correct += v is Verdict.EQUAL
            unknown += v is Verdict.UNKNOWN
    grade_s = time.perf_counter() - start
    _clear_caches()
    grader = Grader(worker)
    start = time.perf_counter()
    clusters = sum(len({l for l in cluster_labels(answers, grader) if l is not None})
                   for answers in samples)
    cluster_s = time.perf_counter() - start
    return grade_s, cluster_s, correct, unknown, clusters, grader.num_symbolic_calls


def bench_math_verify(golds, samples):
    from math_verify import parse, verify
    start = time.perf_counter()
    correct = 0
    for gold, answers in zip(golds, samples):
        g = parse("$" + gold + "$")
        for a in answers:
            correct += bool(verify(g, parse("$" + a + "$")))
    grade_s = time.perf_counter() - start
    start = time.perf_counter()
    clusters = 0
    for answers in samples:  # Same greedy representative clustering, math-verify as g(a, b).
        reps = []
        for a in answers:
            pa = parse("$" + a + "$")
            if not any(verify(r, pa) for r in reps):
                reps.append(pa)
        clusters += len(reps)
    cluster_s = time.perf_counter() - start
    return grade_s, cluster_s, correct, clusters


def _agreement_report(name: str, verdicts: list[bool], cases) -> int:
    by_source: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for verdict, case in zip(verdicts, cases):
        tally = by_source[case.source.split("/")[0].split(" ")[0]]
        tally[0] += verdict == case.equal
        tally[1] += 1
    agree = sum(v == c.equal for v, c in zip(verdicts, cases))
    parts = ", ".join(f"{src} {a}/{n}" for src, (a, n) in sorted(by_source.items()))
    false_equal = sum(v and not c.equal for v, c in zip(verdicts, cases))
    print(f"{name}: agreement {agree}/{len(cases)} = {100 * agree / len(cases):.1f}% ({parts}); "
          f"{false_equal} equal where the suite says different, "
          f"{len(cases) - agree - false_equal} different where it says equal")
    return false_equal


def agreement_ours(cases, worker, show: bool = False, check_timeout_s: float | None = None,
                   comma_lists: str = "ordered") -> None:
    _clear_caches()
    options = {"comma_lists": comma_lists}
    if check_timeout_s is not None:
        options["timeout_s"] = check_timeout_s
    grader = Grader(worker, **options)
    verdicts, slowest = [], (0.0, None)
    for case in cases:
        start = time.perf_counter()
        verdicts.append(grader.check(*case.answers()) is Verdict.EQUAL)
        slowest = max(slowest, (time.perf_counter() - start, case.id))
    false_equal = _agreement_report(f"ours (comma_lists={comma_lists!r})", verdicts, cases)
    print(f"ours: {false_equal} false \"equal\" (ours equal, the suite's label different)")
    if show:
        for verdict, case in zip(verdicts, cases):
            if verdict != case.equal:
                kind = "FALSE EQUAL" if verdict else "false different"
                print(f"  {kind}: {case.source}\n    gold {case.gold!r}\n    pred {case.pred!r}")
    print(f"ours: slowest case {slowest[0]:.2f} s ({slowest[1]!r}), "
          f"{worker.num_timeouts} worker time-outs")


def _as_math(text: str) -> str:
    """A bare answer (no `$`, `\\(`, `\\[` or box) wrapped in `$...$` for math-verify."""
    if any(mark in text for mark in ("$", "\\(", "\\[", "\\boxed")):
        return text
    return f"${text}$"


def agreement_math_verify(cases) -> None:
    from math_verify import LatexExtractionConfig, parse, verify
    latex_only = [LatexExtractionConfig(boxed_match_priority=0)]  # as math-verify's tests
    for name, prepare in (("math-verify", str), ("math-verify (bare answers as $..$)", _as_math)):
        verdicts = []
        for case in cases:
            targets = latex_only if case.extract.get("math_only") else None
            read = (lambda text: parse(prepare(text), targets)) if targets else (
                lambda text: parse(prepare(text)))
            try:
                verdicts.append(bool(verify(read(case.gold), read(case.pred))))
            except Exception:  # noqa: BLE001 — a crash counts as a "not equal" verdict
                verdicts.append(False)
        _agreement_report(name, verdicts, cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--mv_problems", type=int, default=50)
    parser.add_argument("--agreement_only", action="store_true")
    parser.add_argument("--show_disagreements", action="store_true",
                        help="list every case where our verdict differs from the suite's")
    parser.add_argument("--patient", action="store_true",
                        help="agreement with generous time bounds (15 s per comparison, 60 s "
                             "per check) for a loaded machine, where a time-out (UNKNOWN, "
                             "counted as not equal) would change a verdict; the speed "
                             "measurement keeps the defaults")
    parser.add_argument("--comma_lists", choices=("ordered", "unordered"), default="ordered",
                        help="Grader(comma_lists=...) for the agreement (default: the "
                             "grader's default)")
    args = parser.parse_args()
    golds = load_golds(args.problems)
    samples = make_samples(golds, args.samples)
    worker = SymbolicWorker()
    worker.compare("x", "x")  # Start-up is not part of the measurement.
    cases = load_cases()
    with_setup = collections.Counter(json.dumps(c.extract, sort_keys=True)
                                     for c in cases if c.extract)
    print(f"cases: {len(cases)}, none excluded; graded under their test's setup: "
          + (", ".join(f"{n} with extract={k}" for k, n in with_setup.items()) or "none"))
    if args.patient:
        patient = SymbolicWorker(timeout_s=15.0)
        patient.compare("x", "x")
        agreement_ours(cases, patient, args.show_disagreements, check_timeout_s=60.0,
                       comma_lists=args.comma_lists)
        patient.close()
    else:
        agreement_ours(cases, worker, args.show_disagreements, comma_lists=args.comma_lists)
    try:
        agreement_math_verify(cases)
    except ImportError:
        print("math-verify: not installed (pip install -e .[mathverify] to compare)")
    if args.agreement_only:
        worker.close()
        return
    n = len(golds) * args.samples
    grade_s, cluster_s, correct, unknown, clusters, calls = bench_ours(golds, samples, worker)
    print(f"ours: {len(golds)} problems x {args.samples} samples = {n} answers")
    print(f"ours: graded {n} answers in {grade_s:.2f} s = {n / grade_s:,.0f} answers/s "
          f"({correct} equal, {unknown} unknown)")
    print(f"ours: clustering {n} answers took {cluster_s:.2f} s "
          f"({clusters} clusters, {calls} symbolic comparisons, {worker.num_timeouts} timeouts)")
    sub_g, sub_s = golds[:args.mv_problems], samples[:args.mv_problems]
    m = len(sub_g) * args.samples
    o_grade, o_cluster, o_correct, _, _, _ = bench_ours(sub_g, sub_s, worker)
    print(f"ours on the first {len(sub_g)} problems ({m} answers): {m / o_grade:,.0f} answers/s, "
          f"clustering {o_cluster:.2f} s, {o_correct} equal")
    worker.close()
    try:
        import math_verify  # noqa: F401
    except ImportError:
        print("math-verify: not installed (pip install -e .[mathverify] to compare)")
        return
    mv_grade, mv_cluster, mv_correct, mv_clusters = bench_math_verify(sub_g, sub_s)
    print(f"math-verify on the same {m} answers: {m / mv_grade:,.0f} answers/s "
          f"({mv_correct} equal), clustering {mv_cluster:.2f} s ({mv_clusters} clusters)")
    print(f"ratio ours/math-verify: grading rate {(m / o_grade) / (m / mv_grade):.1f}x, "
          f"clustering time {mv_cluster / o_cluster:.1f}x faster")


if __name__ == "__main__":
    main()
