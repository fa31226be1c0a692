"""Stages with manifests: a small dependency graph whose finished stages are skipped.

A stage has a name, the names of the stages it reads, its settings (JSON-able) and a function
that writes its outputs into its own folder `<run_dir>/<name>/`. Its fingerprint hashes its
settings and the fingerprints of its inputs, so changing one stage's settings changes its
fingerprint and those of everything downstream, and nothing else.

    <run_dir>/<name>/manifest.json   {"version": 1, "stage": name, "fingerprint": "...",
                                      "settings": {...}, "inputs": {...}, "complete": bool,
                                      "seconds": float | null, "outputs": {...}}

Written atomically at start (complete: false) and at the end (complete: true). On a rerun:
  * complete with the same fingerprint -> skipped;
  * incomplete with the same fingerprint (the job was killed in this stage) -> the stage runs
    again in the same folder, where its tools resume (trainer checkpoints, infer/score progress);
  * any other fingerprint -> the folder is cleared and the stage starts over.
With several hosts, the primary alone reads and writes manifests (see `run_stages`).

Folders are strings, local paths or object-store URIs (`gs://bucket/run`): every read,
write and deletion here goes through `file_paths` and `atomic_files`, and the stages' tools
take URIs too, so RUN_DIR may be on a bucket.

A run holds `<run_dir>/recipe.lock`, and each stage, from its preparation to its end,
`<run_dir>/<name>/stage.lock` (`training.run_lock`): a second recipe run on the same folder is
refused with the message every tool gives, a killed run's locks are taken over.

Example:
    stages = [Stage("sft", (), {"steps": 300}, train_fn), Stage("samples", ("sft",), {...}, infer_fn)]
    run_stages(stages, "runs/recipe")   # prints the plan (stages to run / to skip), then
                                        # one line per stage start and end
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import sys
import threading
import time
from concurrent import futures
from typing import Any, Callable, Mapping, Sequence

from mathft_jax import file_paths
from mathft_jax.atomic_files import atomic_write_json
from mathft_jax.errors import ConfigError
from mathft_jax.training import run_lock

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
# fn(stage folder, {input name: input folder}) -> outputs (JSON-able) for the manifest.
StageFn = Callable[[str, Mapping[str, str]], Mapping[str, Any]]


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str
    inputs: tuple[str, ...]
    settings: Mapping[str, Any]
    run: StageFn


def fingerprint(settings: Mapping[str, Any], input_fingerprints: Mapping[str, str]) -> str:
    blob = json.dumps({"settings": settings, "inputs": dict(sorted(input_fingerprints.items()))},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def read_manifest(folder: str) -> dict | None:
    """The stage folder's manifest, None when it has none.

    Raises:
      ConfigError: one line naming the file when it is not a manifest this version writes
        (truncated or not JSON, fields missing, another version); deleting the file makes
        the stage run again in its folder, where its tools resume.
    """
    path = os.path.join(folder, MANIFEST)
    stored = file_paths.as_path(path)
    if not stored.exists():
        return None
    try:
        manifest = json.loads(stored.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise ConfigError(f"{path}: not a readable stage manifest ({e}); delete it to run "
                          f"that stage again") from None
    if not isinstance(manifest, dict):
        raise ConfigError(f"{path}: not a readable stage manifest (a JSON "
                          f"{type(manifest).__name__}, not an object); delete it to run that "
                          f"stage again")
    if manifest.get("version") != MANIFEST_VERSION:
        raise ConfigError(f"{path}: unsupported manifest version {manifest.get('version')!r}")
    missing = [k for k in ("fingerprint", "complete") if k not in manifest]
    if missing:
        raise ConfigError(f"{path}: not a readable stage manifest (no {', '.join(missing)}); "
                          f"delete it to run that stage again")
    return manifest


def run_stages(stages: Sequence[Stage], run_dir: str, log: Callable[[str], None] = print,
               targets: Sequence[str] | None = None, parallel: int = 1,
               run_dir_setting: str = "recipe.run_dir") -> dict[str, dict]:
    """Runs `stages` (in an order where inputs come first); returns every manifest.

    `run_dir_setting` names the setting that chose `run_dir`, for the refusal when another
    live run holds it ("choose another MODEL_DIR").

    With `targets`, runs only those stages and what they read (directly or not), like a build
    tool's targets: e.g. ("eval_test_sft_detailed",) trains, samples and grades the detailed
    SSFT model and nothing else.

    With `parallel` > 1 (one host only), up to that many stages whose inputs are finished run
    at once, each on a thread of this process, taken in the dependency order; their printed
    lines start with the stage's name. Outputs do not depend on it. A failed stage lets the
    running ones finish, starts no other, and is raised.

    Multi-host: every host runs every stage (the tools inside share the work), but only the
    primary host reads, clears and writes the stage folders' manifests; it tells the other
    hosts whether to run each stage, so all take the same branch and none races a deletion.
    """
    from mathft_jax import distributed  # imports JAX: only where the stages run
    import jax
    by_name = {s.name: s for s in stages}
    order = _ordered(stages, by_name)
    if targets is not None:
        order = _needed_by(order, by_name, targets)
    if parallel > 1 and jax.process_count() > 1:
        raise ConfigError(f"parallel stages ({parallel}) run on one host only; this job has "
                          f"{jax.process_count()} hosts: use 1")
    lock = run_lock.take(run_dir, run_dir_setting, lock_name=run_lock.RECIPE_LOCK_FILE)
    try:
        if distributed.is_primary_host():
            log(plan_line(plan(order, run_dir), run_dir))
        runs = [_StageRun(stage, number, len(order), run_dir, log, run_dir_setting)
                for number, stage in enumerate(order, 1)]
        if parallel <= 1:
            manifests: dict[str, dict] = {}
            for run in runs:
                skipped = run.start(manifests)
                if skipped is None:
                    skipped = run.execute()
                    run.log_finished()
                manifests[run.stage.name] = skipped
            return manifests
        return _run_concurrently(runs, parallel)
    finally:
        if lock is not None:
            lock.release()


class _StageRun:
    """One stage of a run: its fingerprint and skip-or-run decision (`start`), then `execute`."""

    def __init__(self, stage: Stage, number: int, total: int, run_dir: str,
                 log: Callable[[str], None], run_dir_setting: str):
        self.stage, self.log, self.run_dir_setting = stage, log, run_dir_setting
        self.folder = os.path.join(run_dir, stage.name)
        self.input_folders = {n: os.path.join(run_dir, n) for n in stage.inputs}
        self.label = f"[{number}/{total}] {stage.name}"
        self.manifest: dict = {}
        self._lock: run_lock.RunLock | None = None

    def start(self, manifests: Mapping[str, dict]) -> dict | None:
        """Takes the stage folder's lock and decides (the primary host, told to all)
        whether to skip; the skipped stage's manifest (the lock released), or None when it is
        to run (then its started manifest is written; `execute` releases the lock)."""
        self._lock = run_lock.take(self.folder, self.run_dir_setting,
                                   lock_name=run_lock.STAGE_LOCK_FILE)
        try:
            skipped = self._decide(manifests)
        except BaseException:
            self._release()
            raise
        if skipped is not None:
            self._release()
        return skipped

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _decide(self, manifests: Mapping[str, dict]) -> dict | None:
        from mathft_jax import distributed
        primary = distributed.is_primary_host()
        inputs = {name: manifests[name]["fingerprint"] for name in self.stage.inputs}
        self.manifest = {"version": MANIFEST_VERSION, "stage": self.stage.name,
                         "fingerprint": fingerprint(self.stage.settings, inputs),
                         "settings": dict(self.stage.settings), "inputs": inputs,
                         "complete": False, "seconds": None, "outputs": {}}
        decision = _ERROR
        try:
            if primary:
                decision = _prepare(self.folder, self.manifest, self.label, self.log)
        finally:
            decision = distributed.broadcast_int(decision)
        if decision == _ERROR:
            raise ConfigError(f"{self.label}: the primary host could not prepare {self.folder} "
                              "(see its error)")
        if decision == _SKIP:
            if not primary:
                self.log(f"{self.label}: done, skipped")
            return read_manifest(self.folder)
        self.log(f"{self.label}: started")
        return None

    def execute(self) -> dict:
        """Runs the stage and writes its finished manifest (the primary host)."""
        from mathft_jax import distributed
        try:
            start = time.time()
            outputs = self.stage.run(self.folder, self.input_folders)
            self.manifest.update(complete=True, seconds=round(time.time() - start, 1),
                                 outputs=dict(outputs or {}))
            if distributed.is_primary_host():
                atomic_write_json(os.path.join(self.folder, MANIFEST), self.manifest)
            return self.manifest
        finally:
            self._release()

    def log_finished(self) -> None:
        self.log(f"{self.label}: finished in {self.manifest['seconds']:.1f} s")


def _run_concurrently(runs: Sequence[_StageRun], parallel: int) -> dict[str, dict]:
    """Up to `parallel` ready stages at once on threads; decisions and manifests are made on
    this (the calling) thread, in the dependency order."""
    manifests: dict[str, dict] = {}
    pending, running = _longest_chain_first(runs), {}
    failure: BaseException | None = None
    with _stage_prefixed_stdout(), futures.ThreadPoolExecutor(
            parallel, thread_name_prefix="stage") as pool:
        while pending or running:
            for run in list(pending):
                if failure is not None or len(running) >= parallel:
                    break
                if all(name in manifests for name in run.stage.inputs):
                    pending.remove(run)
                    skipped = run.start(manifests)
                    if skipped is not None:
                        manifests[run.stage.name] = skipped
                    else:
                        running[pool.submit(_as_stage, run)] = run
            if not running:
                break
            done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in done:
                run = running.pop(future)
                try:
                    manifests[run.stage.name] = future.result()
                    run.log_finished()
                except BaseException as e:  # noqa: BLE001 - re-raised once the others end
                    run.log(f"{run.label}: failed ({type(e).__name__})")
                    failure = failure or e
    if failure is not None:
        raise failure
    return manifests


def _longest_chain_first(runs: Sequence[_StageRun]) -> list[_StageRun]:
    """`runs` (in dependency order) sorted so that, of the stages ready at a time, the one
    with the longest chain of stages waiting on it starts first (ties: the given order).

    Example: with sft -> samples -> verifier -> multitask and sft -> samples -> margin, the
    verifier (two stages after it) starts before the margin evaluator (none after it).
    """
    chain = {run.stage.name: 0 for run in runs}
    for run in reversed(runs):  # dependents come later in `runs`: their chains are final
        for name in run.stage.inputs:
            if name in chain:
                chain[name] = max(chain[name], chain[run.stage.name] + 1)
    position = {run.stage.name: i for i, run in enumerate(runs)}
    return sorted(runs, key=lambda run: (-chain[run.stage.name], position[run.stage.name]))


_thread_stage = threading.local()


def _as_stage(run: _StageRun) -> dict:
    _thread_stage.name = run.stage.name
    try:
        return run.execute()
    finally:
        if isinstance(sys.stdout, _PrefixedLines):
            sys.stdout.end_thread_line()
        _thread_stage.name = None


class _PrefixedLines(io.TextIOBase):
    """stdout for concurrent stages: each line a stage thread prints starts with its name,
    e.g. "sft_terse| step 60/300 | loss 0.52"; other threads' text passes through."""

    def __init__(self, target):
        self._target, self._lock = target, threading.Lock()
        self._partial: dict[int, str] = {}

    def write(self, text: str) -> int:
        name = getattr(_thread_stage, "name", None)
        if not name:
            return self._target.write(text)
        key = threading.get_ident()
        lines = (self._partial.pop(key, "") + text).split("\n")
        if lines[-1]:
            self._partial[key] = lines[-1]
        with self._lock:
            for line in lines[:-1]:
                self._target.write(f"{name}| {line}\n")
        return len(text)

    def end_thread_line(self) -> None:
        """Writes out what this thread printed after its last newline (as a whole line)."""
        if threading.get_ident() in self._partial:
            self.write("\n")

    def flush(self) -> None:
        self._target.flush()


@contextlib.contextmanager
def _stage_prefixed_stdout():
    previous = sys.stdout
    sys.stdout = _PrefixedLines(previous)
    try:
        yield
    finally:
        sys.stdout = previous


_ERROR, _SKIP, _RUN = -1, 0, 1
# What a rerun does with a stage, by its folder's manifest (`plan`).
PLAN_DONE, PLAN_CONTINUE, PLAN_REDO, PLAN_NEW = "done", "continue", "redo", "new"
PLAN_UNREADABLE = "unreadable"
_PLAN_WORDS = {PLAN_DONE: "done, to skip", PLAN_CONTINUE: "interrupted, to continue",
               PLAN_REDO: "settings or inputs changed, to run again", PLAN_NEW: "to run",
               PLAN_UNREADABLE: "manifest unreadable"}


def plan(order: Sequence[Stage], run_dir: str) -> dict[str, str]:
    """What `run_stages` will do with each stage of `order` (PLAN_* by name), from the
    manifests in `run_dir`, without touching anything. A manifest that cannot be read is
    PLAN_UNREADABLE here (the run itself stops on it with the reason)."""
    fingerprints: dict[str, str] = {}
    out = {}
    for stage in order:
        fp = fingerprint(stage.settings, {n: fingerprints[n] for n in stage.inputs})
        fingerprints[stage.name] = fp
        try:
            old = read_manifest(os.path.join(run_dir, stage.name))
        except (ConfigError, OSError, ValueError, KeyError):
            out[stage.name] = PLAN_UNREADABLE
            continue
        if old is None:
            out[stage.name] = PLAN_NEW
        elif old.get("fingerprint") != fp:
            out[stage.name] = PLAN_REDO
        else:
            out[stage.name] = PLAN_DONE if old.get("complete") else PLAN_CONTINUE
    return out


def plan_line(stages_plan: Mapping[str, str], run_dir: str) -> str:
    """One line for the start of a run: how many stages, and which fall in each group.

    Example:
        >>> plan_line({"sft": "done", "samples": "new", "report": "new"}, "runs/q")
        'plan for runs/q: 3 stages; done, to skip (1): sft; to run (2): samples, report'
    """
    groups = []
    for kind in (PLAN_DONE, PLAN_CONTINUE, PLAN_REDO, PLAN_NEW, PLAN_UNREADABLE):
        names = [name for name, what in stages_plan.items() if what == kind]
        if names:
            groups.append(f"{_PLAN_WORDS[kind]} ({len(names)}): {', '.join(names)}")
    return f"plan for {run_dir}: {len(stages_plan)} stages; " + "; ".join(groups)


def _prepare(folder: str, manifest: dict, label: str, log: Callable[[str], None]) -> int:
    """The primary host's part: _SKIP a finished stage, or clear what is stale, write the
    started manifest and _RUN it."""
    old = read_manifest(folder)
    if old and old["fingerprint"] == manifest["fingerprint"] and old["complete"]:
        log(f"{label}: done, skipped")
        return _SKIP
    if old and old["fingerprint"] != manifest["fingerprint"]:
        log(f"{label}: settings or inputs changed; starting it over")
        _clear(folder)
    elif old:
        log(f"{label}: continuing an interrupted run")
    atomic_write_json(os.path.join(folder, MANIFEST), manifest)
    return _RUN


def _clear(folder: str) -> None:
    """Deletes everything in a stage folder but the lock this run holds there."""
    for entry in file_paths.as_path(folder).iterdir():
        if entry.name != run_lock.STAGE_LOCK_FILE:
            file_paths.remove(entry)


def _ordered(stages: Sequence[Stage], by_name: Mapping[str, Stage]) -> list[Stage]:
    """Stages in dependency order (stable: the given order where it is free)."""
    order, state = [], {}

    def visit(stage: Stage, path: tuple[str, ...]) -> None:
        if state.get(stage.name) == "done":
            return
        if stage.name in path:
            raise ConfigError(f"stage cycle: {' -> '.join(path + (stage.name,))}")
        for name in stage.inputs:
            if name not in by_name:
                raise ConfigError(f"stage {stage.name!r} reads {name!r}, which is not a stage")
            visit(by_name[name], path + (stage.name,))
        state[stage.name] = "done"
        order.append(stage)

    for stage in stages:
        visit(stage, ())
    return order


def _needed_by(order: Sequence[Stage], by_name: Mapping[str, Stage],
               targets: Sequence[str]) -> list[Stage]:
    """The stages of `order` that `targets` need (themselves included), in the same order."""
    unknown = [t for t in targets if t not in by_name]
    if unknown or not targets:
        raise ConfigError(f"unknown target stage(s) {unknown or list(targets)}; the stages are "
                          f"{sorted(by_name)}")
    needed, todo = set(), list(targets)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(by_name[name].inputs)
    return [stage for stage in order if stage.name in needed]
