"""`is_equiv` from a plain script without a `__main__` guard, and from `python - <<EOF` stdin.

A `multiprocessing` spawn worker re-imports the caller's `__main__`, which makes such scripts
raise RuntimeError; the worker is a plain subprocess, so both must just work.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = r'''
from mathft_jax.evaluation import is_equiv
print(is_equiv(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"), is_equiv("x^2-1", "(x-1)(x+1)"),
      is_equiv("x+1", "x-1"))
'''


def _run(args, **kwargs) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=kwargs.pop("cwd"), **kwargs)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("how", ["script file", "stdin"])
def test_unguarded_top_level_call(tmp_path, how):
    if how == "script file":
        path = tmp_path / "grade.py"
        path.write_text(SCRIPT)
        out = _run([str(path)], cwd=tmp_path)
    else:
        out = _run(["-"], input=SCRIPT, cwd=tmp_path)
    assert out == "True True False"
