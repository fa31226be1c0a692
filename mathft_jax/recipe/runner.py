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

Example:
    stages = [Stage("sft", (), {"steps": 300}, train_fn), Stage("samples", ("sft",), {...}, infer_fn)]
    run_stages(stages, "runs/recipe")   # prints the plan (stages to run / to skip), then
                                        # one line per stage start and end
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from typing import Any, Callable, Mapping, Sequence

from mathft_jax.atomic_files import atomic_write_json
from mathft_jax.gin_utils import ConfigError

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
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
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
               targets: Sequence[str] | None = None) -> dict[str, dict]:
    """Runs `stages` (in an order where inputs come first); returns every manifest.

    With `targets`, runs only those stages and what they read (directly or not), like a build
    tool's targets: e.g. ("eval_test_sft_detailed",) trains, samples and grades the detailed
    SSFT model and nothing else.

    Multi-host: every host runs every stage (the tools inside share the work), but only the
    primary host reads, clears and writes the stage folders' manifests; it tells the other
    hosts whether to run each stage, so all take the same branch and none races a deletion.
    """
    from mathft_jax import distributed  # imports JAX: only where the stages run
    by_name = {s.name: s for s in stages}
    manifests: dict[str, dict] = {}
    primary = distributed.is_primary_host()
    order = _ordered(stages, by_name)
    if targets is not None:
        order = _needed_by(order, by_name, targets)
    if primary:
        log(plan_line(plan(order, run_dir), run_dir))
    for number, stage in enumerate(order, 1):
        folder = os.path.join(run_dir, stage.name)
        inputs = {name: manifests[name]["fingerprint"] for name in stage.inputs}
        label = f"[{number}/{len(order)}] {stage.name}"
        manifest = {"version": MANIFEST_VERSION, "stage": stage.name,
                    "fingerprint": fingerprint(stage.settings, inputs),
                    "settings": dict(stage.settings), "inputs": inputs, "complete": False,
                    "seconds": None, "outputs": {}}
        decision = _ERROR
        try:
            if primary:
                decision = _prepare(folder, manifest, label, log)
        finally:
            decision = distributed.broadcast_int(decision)
        if decision == _ERROR:
            raise ConfigError(f"{label}: the primary host could not prepare {folder} (see its "
                              "error)")
        if decision == _SKIP:
            if not primary:
                log(f"{label}: done, skipped")
            manifests[stage.name] = read_manifest(folder)
            continue
        log(f"{label}: started")
        start = time.time()
        outputs = stage.run(folder, {n: os.path.join(run_dir, n) for n in stage.inputs})
        manifest.update(complete=True, seconds=round(time.time() - start, 1),
                        outputs=dict(outputs or {}))
        if primary:
            atomic_write_json(os.path.join(folder, MANIFEST), manifest)
        log(f"{label}: finished in {manifest['seconds']:.1f} s")
        manifests[stage.name] = manifest
    return manifests


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
        shutil.rmtree(folder)
    elif old:
        log(f"{label}: continuing an interrupted run")
    atomic_write_json(os.path.join(folder, MANIFEST), manifest)
    return _RUN


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
