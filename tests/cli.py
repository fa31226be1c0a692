"""Runs an entry point (`python -m mathft_jax.<module>`) as a user would, and checks the
one-line failure contract of `gin_utils.run_main`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[1]


def run(module: str, *flags: str, preexec_fn: Optional[Callable[[], None]] = None,
        timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", f"mathft_jax.{module}", *flags], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec_fn)


def one_error_line(proc: subprocess.CompletedProcess, status: int = 2) -> str:
    """The `error:` line, after checking: exit `status`, no traceback, exactly one `error:`
    line and it is the last non-empty line of stderr."""
    tail = proc.stderr[-3000:]
    assert proc.returncode == status, (proc.returncode, tail)
    assert "Traceback" not in proc.stderr, tail
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, tail
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()][-1] == errors[0], tail
    return errors[0]
