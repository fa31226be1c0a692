"""The stage runner: manifests, skipping, restarting, ordering, and the multi-host protocol."""

from __future__ import annotations

import json
import os
import types

import pytest

from mathft_jax import distributed
from mathft_jax.errors import ConfigError
from mathft_jax.recipe import runner
from mathft_jax.recipe.runner import Stage, run_stages


def _stages(calls: list, steps: int = 3) -> list[Stage]:
    def fn(name):
        def run(folder, inputs):
            calls.append(name)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "out.txt"), "w") as f:
                f.write(name)
            return {"inputs": sorted(inputs)}
        return run
    # Listed out of order: "samples" reads "sft", "report" reads both.
    return [Stage("report", ("sft", "samples"), {}, fn("report")),
            Stage("samples", ("sft",), {"n": 8}, fn("samples")),
            Stage("sft", (), {"steps": steps}, fn("sft"))]


def test_runs_inputs_first_then_skips_finished_stages(tmp_path):
    calls, lines = [], []
    manifests = run_stages(_stages(calls), str(tmp_path), log=lines.append)
    assert calls == ["sft", "samples", "report"]
    assert manifests["report"]["outputs"] == {"inputs": ["samples", "sft"]}
    assert all(m["complete"] for m in manifests.values())
    # Each manifest names its stage, its version and its settings, on disk as returned.
    for name, manifest in manifests.items():
        assert (manifest["stage"], manifest["version"]) == (name, runner.MANIFEST_VERSION)
        assert runner.read_manifest(str(tmp_path / name)) == manifest
    again, lines = [], []
    assert run_stages(_stages(again), str(tmp_path), log=lines.append) == manifests
    assert again == [] and all(line.endswith("done, skipped") for line in lines[1:])
    assert lines[0] == f"plan for {tmp_path}: 3 stages; done, to skip (3): sft, samples, report"


def test_a_finished_manifest_keeps_the_stage_s_seconds_to_a_tenth(monkeypatch, tmp_path):
    # The runner's clock advances 12.3456 s between any two reads: each stage takes that.
    reads = iter(100.0 + 12.3456 * i for i in range(100))
    monkeypatch.setattr(runner, "time", types.SimpleNamespace(time=lambda: next(reads)))
    lines = []
    manifests = run_stages(_stages([]), str(tmp_path), log=lines.append)
    assert {name: m["seconds"] for name, m in manifests.items()} == {
        "sft": 12.3, "samples": 12.3, "report": 12.3}
    assert runner.read_manifest(str(tmp_path / "sft"))["seconds"] == 12.3
    assert "[1/3] sft: finished in 12.3 s" in lines


def test_changed_settings_rerun_that_stage_and_what_reads_it(tmp_path):
    run_dir = tmp_path / "run"
    run_stages(_stages([]), str(run_dir), log=lambda _: None)
    (run_dir / "sft" / "stale.txt").write_text("from the old settings")
    (run_dir / "sft" / "stale" / "deeper").mkdir(parents=True)
    (run_dir / "sft" / "stale" / "deeper" / "x.txt").write_text("x")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "kept.txt").write_text("not the stage's")
    (run_dir / "sft" / "link").symlink_to(tmp_path / "elsewhere")
    calls, lines = [], []
    run_stages(_stages(calls, steps=4), str(run_dir), log=lines.append)
    assert calls == ["sft", "samples", "report"]  # fingerprints flow downstream
    assert sorted(p.name for p in (run_dir / "sft").iterdir()) == ["manifest.json", "out.txt"]
    # A link in the stage folder is deleted, not followed.
    assert (tmp_path / "elsewhere" / "kept.txt").read_text() == "not the stage's"
    assert "[1/3] sft: settings or inputs changed; starting it over" in lines


def test_an_interrupted_stage_continues_in_its_folder(tmp_path):
    run_stages(_stages([]), str(tmp_path), log=lambda _: None)
    path = tmp_path / "samples" / runner.MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "complete": False}))
    (tmp_path / "samples" / "partial.txt").write_text("kept")
    calls, lines = [], []
    run_stages(_stages(calls), str(tmp_path), log=lines.append)
    assert calls == ["samples"]  # the report's inputs did not change: it stays
    assert (tmp_path / "samples" / "partial.txt").exists()
    assert "[2/3] samples: continuing an interrupted run" in lines


def test_the_plan_names_the_stages_to_run_and_to_skip(tmp_path):
    calls, lines = [], []
    run_stages(_stages(calls), str(tmp_path), log=lines.append)
    assert lines[0] == (f"plan for {tmp_path}: 3 stages; to run (3): sft, samples, report")
    path = tmp_path / "samples" / runner.MANIFEST
    path.write_text(json.dumps({**json.loads(path.read_text()), "complete": False}))
    lines = []
    run_stages(_stages([], steps=4), str(tmp_path), log=lines.append)
    # sft's settings changed, so everything downstream runs again as well.
    assert lines[0] == (f"plan for {tmp_path}: 3 stages; settings or inputs changed, to run "
                        f"again (3): sft, samples, report")
    run_stages(_stages([], steps=4), str(tmp_path), log=lambda _: None)
    path.write_text(json.dumps({**json.loads(path.read_text()), "complete": False}))
    lines = []
    run_stages(_stages([], steps=4), str(tmp_path), log=lines.append)
    assert lines[0] == (f"plan for {tmp_path}: 3 stages; done, to skip (2): sft, report; "
                        f"interrupted, to continue (1): samples")


def test_cycles_and_unknown_inputs_are_refused(tmp_path):
    noop = lambda folder, inputs: {}  # noqa: E731
    with pytest.raises(ConfigError, match="stage cycle: a -> b -> a"):
        run_stages([Stage("a", ("b",), {}, noop), Stage("b", ("a",), {}, noop)], str(tmp_path))
    with pytest.raises(ConfigError, match="reads 'missing'"):
        run_stages([Stage("a", ("missing",), {}, noop)], str(tmp_path))


def test_targets_run_only_what_they_need(tmp_path):
    calls, lines = [], []
    manifests = run_stages(_stages(calls), str(tmp_path), log=lines.append, targets=["samples"])
    assert calls == ["sft", "samples"] and sorted(manifests) == ["samples", "sft"]
    assert lines[1] == "[1/2] sft: started" and not (tmp_path / "report").exists()
    calls = []
    run_stages(_stages(calls), str(tmp_path), log=lambda _: None)  # the rest, later
    assert calls == ["report"]
    with pytest.raises(ConfigError, match=r"unknown target stage\(s\) \['sfft'\]"):
        run_stages(_stages([]), str(tmp_path), targets=["sfft"])


def _as_second_host(monkeypatch, decisions: list[int]) -> list[int]:
    """Makes this process host 1 of 2, receiving `decisions` from the primary in turn."""
    sent = []
    monkeypatch.setattr(distributed, "is_primary_host", lambda: False)

    def broadcast_int(value):
        sent.append(value)
        return decisions.pop(0)
    monkeypatch.setattr(distributed, "broadcast_int", broadcast_int)
    return sent


def test_a_second_host_follows_the_primary_and_writes_no_manifest(monkeypatch, tmp_path):
    # The primary has finished "sft" and is about to run the other two stages.
    run_stages(_stages([])[2:], str(tmp_path), log=lambda _: None)
    before = (tmp_path / "sft" / runner.MANIFEST).read_bytes()
    # Each lock (the run folder's, then each stage's) is one broadcast of "locked" (1).
    sent = _as_second_host(monkeypatch, [1, 1, runner._SKIP, 1, runner._RUN, 1, runner._RUN])
    calls, lines = [], []
    manifests = run_stages(_stages(calls), str(tmp_path), log=lines.append)
    assert calls == ["samples", "report"]  # the work, on this host too
    assert sent == [1] + [1, runner._ERROR] * 3  # it never decides, and locks nothing
    assert (tmp_path / "sft" / runner.MANIFEST).read_bytes() == before
    assert not (tmp_path / "samples" / runner.MANIFEST).exists()
    assert manifests["sft"]["complete"] and lines[0] == "[1/3] sft: done, skipped"


def test_a_primary_that_cannot_prepare_still_releases_the_others(monkeypatch, tmp_path):
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / runner.MANIFEST).write_text(json.dumps({"version": 99}))
    sent = []
    monkeypatch.setattr(distributed, "broadcast_int", lambda v: sent.append(v) or v)
    with pytest.raises(ConfigError, match="unsupported manifest version 99$"):
        run_stages(_stages([])[2:], str(tmp_path), log=lambda _: None)
    assert sent == [1, 1, runner._ERROR]  # the other hosts learn of it instead of waiting
    _as_second_host(monkeypatch, [1, 1, runner._ERROR])
    with pytest.raises(ConfigError, match="primary host could not prepare"):
        run_stages(_stages([])[2:], str(tmp_path), log=lambda _: None)


@pytest.mark.parametrize("text, why", [
    ('{"version": 1, "stage": "sft", "fingerpr', "Unterminated string"),  # truncated
    (b"\xff\xfe", "can't decode byte 0xff"),
    ("[1, 2]", "a JSON list, not an object"),
    ('{"version": 1, "stage": "sft"}', "no fingerprint, complete"),
])
def test_an_unreadable_manifest_is_one_line_and_deleting_it_reruns_the_stage(tmp_path, text,
                                                                              why):
    run_stages(_stages([]), str(tmp_path), log=lambda _: None)
    path = tmp_path / "sft" / runner.MANIFEST
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    lines = []
    with pytest.raises(ConfigError, match=rf"^{path}: not a readable stage manifest \(.*{why}"
                                          rf".*\); delete it to run that stage again$"):
        run_stages(_stages([]), str(tmp_path), log=lines.append)
    assert lines == [f"plan for {tmp_path}: 3 stages; done, to skip (2): samples, report; "
                     f"manifest unreadable (1): sft"]
    path.unlink()
    calls = []
    run_stages(_stages(calls), str(tmp_path), log=lambda _: None)
    assert calls == ["sft"]  # same settings: what reads it stays done


def _concurrent_stages(calls: list, barrier, fail: str | None = None) -> list[Stage]:
    """"a" and "b" must run at once (each waits for the other at `barrier`); "c" reads both."""
    def fn(name, meet):
        def run(folder, inputs):
            if meet:
                barrier.wait()
            print(f"{name} working\nsecond line", flush=True)
            print(f"{name} ends without a newline", end="")
            if name == fail:
                raise RuntimeError(f"{name} broke")
            calls.append(name)
            return {"inputs": sorted(inputs)}
        return run
    return [Stage("a", (), {}, fn("a", True)), Stage("b", (), {}, fn("b", True)),
            Stage("c", ("a", "b"), {}, fn("c", False))]


def test_parallel_stages_run_ready_stages_at_once_and_inputs_first(tmp_path, capsys):
    import threading
    calls = []
    manifests = run_stages(_concurrent_stages(calls, threading.Barrier(2, timeout=30)),
                           str(tmp_path), log=print, parallel=2)
    assert sorted(calls[:2]) == ["a", "b"] and calls[2] == "c"
    assert manifests["c"]["outputs"] == {"inputs": ["a", "b"]}
    # The same fingerprints as one stage at a time: a rerun either way skips everything.
    again = []
    assert run_stages(_concurrent_stages(again, None), str(tmp_path), log=lambda _: None,
                      parallel=1) == manifests
    assert again == []
    out = capsys.readouterr().out.splitlines()
    assert {"a| a working", "a| second line", "b| b working", "c| c working",
            "c| c ends without a newline"} <= set(out)
    # The runner's own lines are not a stage's: no prefix.
    assert any(line.startswith("[1/3] a: finished in") for line in out)
    assert any(line.startswith("[3/3] c: started") for line in out)


def test_one_stage_at_a_time_runs_on_the_calling_thread_and_prints_unprefixed(tmp_path,
                                                                             capsys):
    import threading
    threads = []

    def run(folder, inputs):
        threads.append(threading.current_thread())
        print("sft working")
        return {}
    run_stages([Stage("sft", (), {}, run)], str(tmp_path), log=lambda _: None, parallel=1)
    assert threads == [threading.current_thread()]
    assert capsys.readouterr().out == "sft working\n"


def test_a_failed_parallel_stage_lets_the_other_finish_and_starts_nothing_after(tmp_path):
    import threading
    calls, lines = [], []
    with pytest.raises(RuntimeError, match="a broke"):
        run_stages(_concurrent_stages(calls, threading.Barrier(2, timeout=30), fail="a"),
                   str(tmp_path), log=lines.append, parallel=2)
    assert calls == ["b"]  # "b" finished, "c" never started
    assert "[1/3] a: failed (RuntimeError)" in lines
    assert runner.read_manifest(str(tmp_path / "b"))["complete"]
    assert not runner.read_manifest(str(tmp_path / "a"))["complete"]
    assert not (tmp_path / "c").exists()


def test_parallel_stages_are_refused_on_several_hosts(monkeypatch, tmp_path):
    import jax
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    with pytest.raises(ConfigError, match="one host only"):
        run_stages(_stages([]), str(tmp_path), log=lambda _: None, parallel=2)


def test_of_the_ready_stages_the_longest_chain_starts_first(tmp_path):
    def noop(folder, inputs):
        return {}
    stages = [Stage("sft", (), {}, noop), Stage("margin", ("sft",), {}, noop),
              Stage("verifier", ("sft",), {}, noop), Stage("multitask", ("verifier",), {}, noop),
              Stage("report", ("margin", "multitask"), {}, noop)]
    runs = [runner._StageRun(st, i, 5, str(tmp_path), print, "recipe.run_dir")
            for i, st in enumerate(stages, 1)]
    ordered = [run.stage.name for run in runner._longest_chain_first(runs)]
    assert ordered == ["sft", "verifier", "margin", "multitask", "report"]  # ties: given order


_CHILD = """
import os, signal, sys, time
from mathft_jax.recipe.runner import Stage, run_stages
run_dir, mode = sys.argv[1], sys.argv[2]
def sft(folder, inputs):
    open(os.path.join(run_dir, "started"), "w").close()
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    while not os.path.exists(os.path.join(run_dir, "go")):
        time.sleep(0.05)
    return {}
run_stages([Stage("sft", (), {"steps": 3}, sft)], run_dir, log=lambda _: None)
"""


def _child(run_dir, mode: str):
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(run_dir), mode], cwd=repo,
                            env=dict(os.environ, PYTHONPATH=str(repo), JAX_PLATFORMS="cpu"),
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc):
    import time
    deadline = time.time() + 120
    while not path.exists():
        assert proc.poll() is None or path.exists(), proc.stderr.read()[-2000:]
        assert time.time() < deadline, "the child never started its stage"
        time.sleep(0.05)


def test_a_second_run_on_a_live_run_folder_is_refused(tmp_path):
    """Two processes on one run folder: the second is refused with the tools' message before
    it touches a stage; the first finishes its stage undisturbed."""
    child = _child(tmp_path, "wait")
    try:
        _wait_for(tmp_path / "started", child)
        calls = []
        with pytest.raises(ConfigError, match=(
                rf"^{tmp_path} is in use by another run \(pid {child.pid} on .*\): wait for "
                rf"it to finish, stop it, or choose another recipe.run_dir$")):
            run_stages(_stages(calls), str(tmp_path), log=lambda _: None)
        assert calls == [] and not (tmp_path / "samples").exists()
        assert json.loads((tmp_path / "sft" / runner.MANIFEST).read_text())["complete"] is False
        (tmp_path / "go").touch()
        assert child.wait(timeout=120) == 0, child.stderr.read()[-2000:]
    finally:
        child.kill()
    assert json.loads((tmp_path / "sft" / runner.MANIFEST).read_text())["complete"] is True
    # A clean end leaves no lock behind.
    assert not (tmp_path / "recipe.lock").exists()
    assert not (tmp_path / "sft" / "stage.lock").exists()


def test_a_stage_folder_held_elsewhere_is_refused(tmp_path):
    from mathft_jax.training import run_lock
    holder = run_lock.RunLock(tmp_path / "samples", lock_name=run_lock.STAGE_LOCK_FILE)
    calls = []
    try:
        with pytest.raises(ConfigError, match=rf"^{tmp_path / 'samples'} is in use by another "
                                              rf"run \(pid {os.getpid()} on "):
            run_stages(_stages(calls), str(tmp_path), log=lambda _: None)
    finally:
        holder.release()
    assert calls == ["sft"]  # the stage before it ran; the held one did not start
    assert not (tmp_path / "recipe.lock").exists()  # the run folder was released


def test_a_killed_run_s_locks_are_taken_over_and_its_stage_continues(tmp_path, capfd):
    import signal
    child = _child(tmp_path, "kill")
    assert child.wait(timeout=120) == -signal.SIGKILL, child.stderr.read()[-2000:]
    assert (tmp_path / "recipe.lock").exists() and (tmp_path / "sft" / "stage.lock").exists()
    capfd.readouterr()
    calls, lines = [], []
    run_stages(_stages(calls), str(tmp_path), log=lines.append)
    err = capfd.readouterr().err
    for lock in (tmp_path / "recipe.lock", tmp_path / "sft" / "stage.lock"):
        assert f"{lock} was left by a run that did not finish (pid {child.pid} on " in err
    assert calls == ["sft", "samples", "report"]
    assert "[1/3] sft: continuing an interrupted run" in lines
    assert not (tmp_path / "recipe.lock").exists()
