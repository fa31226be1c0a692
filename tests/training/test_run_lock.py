"""run_lock: one run per MODEL_DIR; a run killed with SIGKILL leaves a stale lock that the
next run takes over."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mathft_jax.training import run_lock
from tests.training import tiny_run

REPO = Path(__file__).resolve().parents[2]


def test_second_owner_is_refused_and_release_frees_the_folder(tmp_path):
    first = run_lock.RunLock(tmp_path)
    with pytest.raises(run_lock.RunInUseError, match=f"{tmp_path} is in use by another run "
                                                     f"\\(pid {os.getpid()} on "):
        run_lock.RunLock(tmp_path)
    first.release()
    first.release()
    second = run_lock.RunLock(tmp_path)
    assert second.stale_owner is None  # a clean release leaves no owner behind
    second.release()


def test_lock_of_a_killed_run_is_stale_and_taken_over(tmp_path, capfd):
    child = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys\n"
         "from mathft_jax.training.run_lock import RunLock\n"
         f"lock = RunLock({str(tmp_path)!r})\n"
         "os.kill(os.getpid(), signal.SIGKILL)"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL
    lock = run_lock.RunLock(tmp_path)
    assert lock.stale_owner is not None and lock.stale_owner["pid"] > 0
    assert lock.stale_owner["pid"] != os.getpid()
    assert "did not finish" in capfd.readouterr().err
    lock.release()


def test_a_second_trainer_on_a_live_run_folder_is_refused(tmp_path):
    holder = run_lock.RunLock(tmp_path)
    try:
        with pytest.raises(run_lock.RunInUseError, match="is in use by another run"):
            tiny_run.run(str(tmp_path), 2)
        assert not (tmp_path / "checkpoints").exists() or not any(
            (tmp_path / "checkpoints").iterdir())
    finally:
        holder.release()
