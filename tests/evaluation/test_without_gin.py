"""The grader is a library: it imports and grades with gin absent (issue 26).

Only the entry points bind settings with gin; `ConfigError` lives in `mathft_jax.errors`, so
the grader, its record readers and the data readers it uses import nothing of gin. A `gin`
package that fails on import is put first on the path, so the symbolic worker's own process
is checked too.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = r'''
import importlib.util, sys
from mathft_jax.evaluation import equivalence
from mathft_jax.evaluation.symbolic import SymbolicWorker
from mathft_jax.evaluation.problems import grade_problems
from mathft_jax.evaluation.records import read_gold
from mathft_jax.evaluation import metrics, report
import mathft_jax.data, mathft_jax.errors
assert "gin" not in sys.modules or sys.modules["gin"] is None, "gin was imported"
try:
    import gin
except ImportError:
    pass
else:
    raise SystemExit("gin is importable: the check checks nothing")
rows = [{"problem_id": "p", "decoding": "sampled", "sample_index": i, "text": t,
         "gold_answer": r"\frac{1}{2}"} for i, t in enumerate([r"\boxed{0.5}", r"\boxed{3}"])]
# Generous bounds: the machine running the tests may be loaded; the check is about imports.
grader = equivalence.Grader(worker=SymbolicWorker(timeout_s=120), timeout_s=120)
problems, counts = grade_problems(rows, grader=grader)
print(equivalence.check_equiv("x^2-1", "(x-1)(x+1)", grader).name,
      equivalence.check_equiv("x+1", "x-1", grader).name, grader.num_symbolic_calls > 0,
      problems[0].labels, problems[0].cluster_correct, counts["unknown_verdicts"])
'''


def test_the_grader_imports_and_grades_without_gin(tmp_path):
    blocked = tmp_path / "gin"
    blocked.mkdir()
    (blocked / "__init__.py").write_text("raise ImportError('gin is blocked for this test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "EQUAL NOT_EQUAL True [0, 1] {0: True, 1: False} 0"
