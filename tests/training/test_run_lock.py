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


# ------------------------------------------------- output locks (infer, score, evaluate)


def _hold_and_try(output, setting, folder=False):
    """Holds the output's lock as a tool would, and tries to take it a second time."""

    @run_lock.releases_locks
    def tool():
        first = run_lock.hold_output(output, setting, folder=folder)
        with pytest.raises(run_lock.RunInUseError) as refused:
            second_tool()
        return first, str(refused.value)

    @run_lock.releases_locks
    def second_tool():
        run_lock.hold_output(output, setting, folder=folder)

    return tool()


def test_an_output_file_lock_refuses_a_second_run_and_a_clean_end_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "deeper" / "c.jsonl"
    lock, message = _hold_and_try(out, "infer.output_file")
    assert lock.path == tmp_path / "new" / "deeper" / "c.jsonl.lock"
    assert message.startswith(f"{out} is in use by another run (pid {os.getpid()} on ")
    assert message.endswith("): wait for it to finish, stop it, or choose another "
                            "infer.output_file")
    # Released when the call ended; the folders the lock created are gone again (empty).
    assert not (tmp_path / "new").exists()


def test_an_output_folder_lock_is_evaluate_lock_inside_it(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kept.txt").write_text("x")
    lock, message = _hold_and_try(tmp_path / "out", "evaluate.output_dir", folder=True)
    assert lock.path == tmp_path / "out" / "evaluate.lock"
    assert message.startswith(f"{tmp_path / 'out'} is in use by another run (pid ")
    assert message.endswith("choose another evaluate.output_dir")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["kept.txt"]


def test_hold_output_outside_a_tool_call_is_a_bug(tmp_path):
    with pytest.raises(RuntimeError, match="releases_locks"):
        run_lock.hold_output(tmp_path / "c.jsonl", "infer.output_file")


def test_a_lock_file_deleted_between_open_and_lock_is_opened_again(tmp_path, monkeypatch):
    """A releasing owner deletes the file after the next run opened it but before that run
    locked it: the next run must lock the file now at the path, not the deleted one."""
    holder = run_lock.RunLock(tmp_path)
    real_open, opened = os.open, []

    def open_then_release(*args, **kwargs):
        fd = real_open(*args, **kwargs)
        opened.append(os.fstat(fd).st_ino)
        if len(opened) == 1:
            holder.release()  # deletes the file this run has just opened, and unlocks it
        return fd

    monkeypatch.setattr(run_lock.os, "open", open_then_release)
    lock = run_lock.RunLock(tmp_path)
    assert len(opened) == 2
    assert os.stat(lock.path).st_ino == os.fstat(lock._fd).st_ino
    assert lock.stale_owner is None
    lock.release()
    assert not lock.path.exists()


def test_a_killed_holder_of_an_output_lock_is_taken_over(tmp_path, capfd):
    out = tmp_path / "c.jsonl"
    child = subprocess.run(
        [sys.executable, "-c", "import os, signal\n"
         "from mathft_jax.training import run_lock\n"
         "@run_lock.releases_locks\n"
         "def tool():\n"
         f"    run_lock.hold_output({str(out)!r}, 'infer.output_file')\n"
         "    os.kill(os.getpid(), signal.SIGKILL)\n"
         "tool()"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu"),
        capture_output=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert (tmp_path / "c.jsonl.lock").read_text()  # the dead owner's record stays

    @run_lock.releases_locks
    def tool():
        lock = run_lock.hold_output(out, "infer.output_file")
        assert lock.stale_owner is not None and lock.stale_owner["pid"] > 0
        return lock.stale_owner

    owner = tool()
    assert owner["pid"] != os.getpid()
    err = capfd.readouterr().err
    assert f"warning: {tmp_path / 'c.jsonl.lock'} was left by a run that did not finish " \
           f"(pid {owner['pid']} on " in err and "taking the run over" in err
    assert not (tmp_path / "c.jsonl.lock").exists()
