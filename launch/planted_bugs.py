"""Plants, one at a time, the 11 metric bugs that once survived the suite (issue 17) in a
scratch copy of the repository and runs the evaluation tests against each: every one must
make at least one test fail. On demand, like launch/mutation.sh (which finds such bugs
systematically); prints one line per bug and exits 1 if any survives.

    python launch/planted_bugs.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E = "mathft_jax/evaluation/"
# (what the bug does, file, original text, planted text)
BUGS = [
    ("pass@k: n - c < k becomes <=", E + "metrics.py", "if n - c < k:", "if n - c <= k:"),
    ("pass@k rejects k == n", E + "metrics.py", "if not 1 <= k <= n", "if not 1 <= k < n"),
    ("pass@k reported only for k < n", E + "metrics.py", "        if k <= n:",
     "        if k < n:"),
    ("RR.TopK looks at K-1 clusters", E + "selection.py", "clusters_by_size(labels)[:k]",
     "clusters_by_size(labels)[:k - 1]"),
    ("W.RR.MajK looks at K-1 clusters", E + "selection.py", "candidates = candidates[:k]",
     "candidates = candidates[:k - 1]"),
    ("an UNKNOWN verdict merges clusters", E + "clustering.py", "is Verdict.EQUAL:",
     "is not Verdict.NOT_EQUAL:"),
    ("joins the last matching cluster", E + "clustering.py",
     "                cluster_of[normal] = cid\n                break\n",
     "                cluster_of[normal] = cid\n"),
    ("bootstrap returns (min, max)", E + "report.py", "    return float(lo), float(hi)",
     "    return float(x.min()), float(x.max())"),
    ("bootstrap 99% interval", E + "report.py", "[2.5, 97.5]", "[0.5, 99.5]"),
    ("bootstrap resamples n-1 items", E + "report.py", "size=(num_bootstrap, len(x))",
     "size=(num_bootstrap, len(x) - 1)"),
    ("bootstrap resamples from the first n-1 items", E + "report.py",
     "rng.integers(0, len(x),", "rng.integers(0, len(x) - 1,"),
]
TESTS = ["tests/evaluation/test_metrics.py", "tests/evaluation/test_selection.py",
         "tests/evaluation/test_clustering.py", "tests/evaluation/test_report.py"]


def _copy(work: Path) -> None:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, work / name)


def _failing_tests(work: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "pytest", *TESTS, "-q", "-p", "no:xdist"],
                            cwd=work, env=dict(os.environ, PYTHONPATH=str(work)),
                            capture_output=True, text=True)
    failed = [line.split(" - ")[0].split("::")[-1] for line in result.stdout.splitlines()
              if line.startswith("FAILED")]
    return failed or ([] if result.returncode == 0 else [f"pytest exit {result.returncode}"])


def main() -> int:
    survived = 0
    with tempfile.TemporaryDirectory(prefix="planted_bugs_") as tmp:
        work = Path(tmp)
        _copy(work)
        if _failing_tests(work):
            print("error: the tests fail without a planted bug")
            return 2
        for name, rel, old, new in BUGS:
            path = work / rel
            source = path.read_text()
            if source.count(old) != 1:
                print(f"error: {rel} no longer contains the text to plant {name!r}")
                return 2
            path.write_text(source.replace(old, new))
            failed = _failing_tests(work)
            path.write_text(source)
            survived += not failed
            print(f"{'caught' if failed else 'SURVIVED'}: {name} ({len(failed)} failing, "
                  f"e.g. {failed[0] if failed else '-'})", flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
