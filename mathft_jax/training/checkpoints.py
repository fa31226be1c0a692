"""Orbax checkpoints of a training run: periodic async saves, keep-N, exact resume.

Layout of a run directory (`MODEL_DIR/checkpoints`), one folder per saved step:

    checkpoints/
      200/
        params/      orbax StandardSave of the parameter tree (sharded arrays)
        opt_state/   orbax StandardSave of the optimizer state (absent in a params-only step)
        meta/        JSON, see below
      400/ ...

`meta` (schema version 1):

    {"version": 1, "step": 400, "batches_consumed": 400, "seed": 0,
     "mixture_or_task_name": "math_sft",
     "fingerprint": {"model": {...ModelConfig fields}, "optimizer": {"name": "adamw", ...},
                     "schedule": {"peak_value": 1e-4, ..., "total_steps": 1000},
                     "task": "math_sft", "seed": 0,
                     "data": {"batch_size": 8, "sequence_length": 512, ...}}}

A run that nothing will resume (a finished recipe stage) may save its final step params-only
(`save(..., params_only=True)`): Orbax writes only the `params` and `meta` items of that step
(the step's `_CHECKPOINT_METADATA` lists no `opt_state` handler) and `meta` records
`"optimizer_state": false`. With Adam that step is a third of a full one. It is still a
params source (`restore_params`, hence `params_source`, `init_checkpoint`, export) and
`restore_latest` returns it with `opt_state=None` to a run whose last step it is (the run is
finished: a rerun returns at once) and refuses it to a run that would train further from it
(not set aside as damaged: nothing is wrong with it).

`batches_consumed` is the input position: a resumed run rebuilds the (seeded, deterministic)
input pipeline and skips that many batches, so it sees exactly the batches an uninterrupted
run would. `fingerprint` (see `run_fingerprint`) holds the settings that make resuming
meaningful: `restore_latest` refuses to resume under other settings and names each
difference, unless told to allow it.

Orbax writes each step into `<step>.orbax-checkpoint-tmp-*` and renames it only after every
item is written (atomic finalize), so a crash mid-save leaves a temporary folder that is never
taken as the latest checkpoint and is cleaned up by the next run. A run owns its MODEL_DIR
through `run_lock.RunLock` (taken before that clean-up), so a second run on the same folder
is refused instead of deleting the first one's unfinished saves.

A finalized step can still be damaged afterwards (a truncated array file, a truncated
`meta`). `restore_latest` then moves it aside to `MODEL_DIR/broken_checkpoints/<step>` (kept,
never deleted), says which step was broken and why, and resumes from the newest intact step.

Each step's `meta` also carries per-array checksums (`"checksums": {"params": {"layers/mlp/wi":
["1a2b3c4d", "float32", [2, 64, 128]], ...}, "opt_state": {...}}`: zlib's CRC-32 of the
array's bytes on the host, its dtype and shape), written at save and verified after every
restore (`restore_latest`, `restore`, `restore_params` of a step folder). Orbax and TensorStore
check the structure of the files but not the bytes of an uncompressed chunk, so a flipped
byte would otherwise load as a good weight. A mismatch is a damaged step: `restore_latest`
moves it aside like a truncated one (`<item>/<array>: checksum mismatch ...` names the array)
and falls back to the previous step; `restore_params` stops with that line. The CRC costs one
host copy and about a second per GB of arrays (zlib.crc32 at 0.97 GB/s on the 2-core AMD
EPYC), at save and at restore. Arrays that span several hosts (not fully addressable on one)
are not checksummed: their entry is simply absent, and steps written before checksums existed
have none; both restore unchecked. A `export_params` folder has no `meta`, hence no checksums.

A failed write for lack of space (disk full, quota) raises `EnvironmentFailure` naming the
step and the folder (the command line exits with status 3); the previous steps stay intact.

A params-only export (`export_params`) is a plain orbax StandardSave folder of the params;
`restore_params` accepts that, a step folder, or a run's checkpoint directory (latest step).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
import threading
import zlib
from typing import Any, Iterator, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath

from mathft_jax import errors, file_paths
from mathft_jax.errors import ConfigError, EnvironmentFailure
from mathft_jax.training import run_lock
from mathft_jax.training.train_state import TrainState

META_VERSION = 1
CHECKPOINT_SUBDIR = "checkpoints"
BROKEN_SUBDIR = "broken_checkpoints"
ITEMS = ("params", "opt_state", "meta")
# Set to False in the `meta` of a params-only step (absent: the step has its optimizer state).
OPTIMIZER_STATE_KEY = "optimizer_state"
META_FILE = "meta/metadata"  # where orbax's JsonSave puts the `meta` item of a step
CHECKSUMS_KEY = "checksums"  # in `meta`: {item: {array path: [crc32 hex, dtype, shape]}}
# What a damaged file looks like through Orbax / TensorStore (as opposed to a mismatch
# between the checkpoint and the model, which must not be moved aside).
_DAMAGE_MARKERS = ("OUT_OF_RANGE", "DATA_LOSS", "NOT_FOUND", "Error reading",
                   "Unterminated string", "Expecting value", "Extra data", "checksum mismatch")


class _OneLineOrbaxErrors(logging.Filter):
    """Keeps Orbax's background-thread error records to their message line.

    Orbax logs each failed write of its writer threads with a full traceback (hundreds of
    lines for one full disk); the same error is raised again in the main thread, where
    `RunCheckpoints` reports it once.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and f"{os.sep}orbax{os.sep}" in record.pathname:
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_orbax_threads() -> None:
    logger = logging.getLogger("absl")
    if not any(isinstance(f, _OneLineOrbaxErrors) for f in logger.filters):
        logger.addFilter(_OneLineOrbaxErrors())
    if not getattr(sys.unraisablehook, "_drops_closed_loop_noise", False):
        sys.unraisablehook = _drop_closed_loop_noise(sys.unraisablehook)


def _drop_closed_loop_noise(previous):
    """After a failed save, TensorStore completes abandoned writes into Orbax's closed event
    loop; each prints an unraisable 'Event loop is closed' traceback that says nothing."""
    def hook(unraisable):
        value = unraisable.exc_value
        if isinstance(value, RuntimeError) and str(value) == "Event loop is closed":
            return
        previous(unraisable)
    hook._drops_closed_loop_noise = True
    return hook


class CheckpointError(ConfigError):
    """A checkpoint that cannot be found or read; the message names the path."""


# A recipe run with two stages at once (two managers saving from two threads of one process)
# failed once with FileNotFoundError on `<step>.orbax-checkpoint-tmp/meta.orbax-checkpoint-tmp/
# metadata`: Orbax's save machinery is not shown safe for overlapping saves in one process.
# Saves are started one at a time here, and callers that run managers side by side save
# synchronously (`async_save=False`), so no two saves of one process overlap.
_ONE_SAVE_AT_A_TIME = threading.Lock()


class RunCheckpoints:
    """Saves and restores the TrainState plus the input position of one run.

    Creating it takes ownership of the run folder (`run_lock.RunLock`); `close` gives it up.

    Example:
        ckpt = RunCheckpoints("runs/tiny_sft", save_every=100, keep=3)
        restored = ckpt.restore_latest(abstract_state_with_shardings, fingerprint)
        if restored is not None:
            state, meta = restored
        ...
        ckpt.save(state, {"batches_consumed": n, "seed": 0, ...})   # every step; saves
                                                                    # only every 100th
        ckpt.close()
    """

    def __init__(self, model_dir: str | os.PathLike, *, save_every: int = 1000, keep: int = 3,
                 async_save: bool = True, final_step: Optional[int] = None,
                 final_params_only: bool = False):
        """`final_step`: the run's last step; with `final_params_only` that step is saved
        without optimizer state (see the module docstring), and `restore_latest` refuses a
        params-only step before it."""
        self.model_dir = file_paths.as_path(model_dir)
        self.final_step = final_step
        self.final_params_only = final_params_only
        self.directory = self.model_dir / CHECKPOINT_SUBDIR
        options = ocp.CheckpointManagerOptions(
            save_interval_steps=max(int(save_every), 1),
            max_to_keep=keep if keep and keep > 0 else None,
            create=True,
            cleanup_tmp_directories=True,
            enable_async_checkpointing=async_save,
        )
        _quiet_orbax_threads()
        # Owned before the manager exists: creating it deletes unfinished temporary folders.
        self._lock = run_lock.RunLock(self.model_dir) if jax.process_index() == 0 else None
        self._pending_step: Optional[int] = None
        try:
            self._manager = ocp.CheckpointManager(self.directory, options=options,
                                                  item_names=ITEMS)
        except BaseException:
            self._release()
            raise

    def latest_step(self) -> Optional[int]:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self._manager.all_steps())

    def save(self, state: TrainState, meta: dict[str, Any], force: bool = False,
             params_only: bool = False) -> bool:
        """Saves at `state.step` if the period says so (or `force`); returns whether it did.

        `params_only`: leave the optimizer state out of this step (see the module docstring);
        for the final step of a run nothing will resume. The constructor's
        `final_params_only` sets it for `final_step`.

        The save is asynchronous: arrays are copied to host first, so `state` may be donated
        to the next train step right after this returns.
        """
        step = int(state.step)
        meta = {"version": META_VERSION, "step": step, **meta}
        items = {"params": ocp.args.StandardSave(state.params)}
        if params_only or (self.final_params_only and step == self.final_step):
            meta[OPTIMIZER_STATE_KEY] = False
        else:
            items["opt_state"] = ocp.args.StandardSave(state.opt_state)
        if self._manager.should_save(step) or force:
            meta[CHECKSUMS_KEY] = {"params": array_checksums(state.params)}
            if "opt_state" in items:
                meta[CHECKSUMS_KEY]["opt_state"] = array_checksums(state.opt_state)
        with _ONE_SAVE_AT_A_TIME, self._writing(step):
            saved = self._manager.save(
                step, args=ocp.args.Composite(**items, meta=ocp.args.JsonSave(meta)),
                force=force)
        if saved:
            self._pending_step = step
        return saved

    @contextlib.contextmanager
    def _writing(self, step: Optional[int]) -> Iterator[None]:
        """Turns a failed write for lack of space into one EnvironmentFailure line."""
        try:
            yield
        except Exception as e:  # noqa: BLE001 (anything else is re-raised unchanged)
            known = errors.classify(e)
            if known is None or known[0] != errors.EXIT_ENVIRONMENT:
                raise
            which = f"step {step}" if step is not None else "a checkpoint"
            raise EnvironmentFailure(f"cannot write {which} to {self.directory}: {known[1]} "
                                     f"(free space, then rerun: the run resumes from the "
                                     f"last complete step)") from e

    def read_meta(self, step: int) -> dict[str, Any]:
        """The `meta` of a finalized step, read without touching the arrays.

        Raises:
          CheckpointError: the file is missing, not JSON, or of another schema version.
        """
        path = self.directory / str(step) / META_FILE
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise CheckpointError(f"{path}: {_first_line(e)}") from e
        if not isinstance(meta, dict) or meta.get("version") != META_VERSION:
            raise CheckpointError(f"{path}: unsupported version "
                                  f"{meta.get('version') if isinstance(meta, dict) else meta!r} "
                                  f"(expected {META_VERSION})")
        return meta

    def restore_latest(self, target: TrainState, fingerprint: Optional[dict] = None,
                       allow_changed_settings: bool = False
                       ) -> Optional[tuple[TrainState, dict[str, Any]]]:
        """Restores the newest intact step, or returns None when there is none.

        A params-only step comes back with `opt_state=None` (see `restore`) when it is at or
        past `final_step` (or no `final_step` was given): the run is finished; before it, it
        is refused with a CheckpointError (it cannot be resumed). A step whose files are
        damaged is moved to `MODEL_DIR/broken_checkpoints/` with a warning naming it and the
        cause, and the next older step is tried. A step written under settings other than
        `fingerprint` is refused with a CheckpointError naming every difference (or, with
        `allow_changed_settings`, a warning); on any error the run folder is released.
        """
        try:
            for step in sorted(self.all_steps(), reverse=True):
                try:
                    meta = self.read_meta(step)
                    if fingerprint is not None:
                        _check_settings(self.directory / str(step), meta, fingerprint,
                                        allow_changed_settings)
                    if is_params_only(meta) and self.final_step is not None \
                            and step < self.final_step:
                        raise CheckpointError(
                            f"{self.directory / str(step)} holds params only (saved without "
                            f"optimizer state as a finished run's last step): it cannot be "
                            f"resumed to step {self.final_step}; to train further, start a "
                            f"new MODEL_DIR from it (init_checkpoint = '{self.model_dir}')")
                    return self.restore(step, target)
                except CheckpointError as e:
                    if not _is_damage(e):
                        raise
                    self._set_aside(step, e)
            return None
        except BaseException:
            self.close()
            raise

    def _set_aside(self, step: int, error: BaseException) -> None:
        aside = self.model_dir / BROKEN_SUBDIR / str(step)
        suffix = 1
        while aside.exists():
            aside, suffix = self.model_dir / BROKEN_SUBDIR / f"{step}.{suffix}", suffix + 1
        if jax.process_index() == 0:
            file_paths.move_tree(self.directory / str(step), aside)
        self._manager.reload()
        print(f"warning: checkpoint step {step} in {self.directory} is broken ("
              f"{_damage_line(error)}); moved it to {aside} and trying the previous step",
              file=sys.stderr, flush=True)

    def restore(self, step: int, target: TrainState) -> tuple[TrainState, dict[str, Any]]:
        """Restores step `step` into the shapes, dtypes and shardings of `target`
        (a TrainState of `jax.ShapeDtypeStruct`s with `sharding` set). A params-only step
        (saved with `params_only=True`) gives a state with `opt_state=None`."""
        with_optimizer = not is_params_only(self.read_meta(step))
        items = {"params": ocp.args.StandardRestore(target.params)}
        if with_optimizer:
            items["opt_state"] = ocp.args.StandardRestore(target.opt_state)
        try:
            restored = self._manager.restore(
                step, args=ocp.args.Composite(**items, meta=ocp.args.JsonRestore()))
        except Exception as e:  # noqa: BLE001 (TensorStore read errors arrive as Exception)
            raise CheckpointError(f"cannot restore step {step} from {self.directory}: "
                                  f"{_damage_line(e) if _is_damage(e) else _first_line(e)}"
                                  ) from e
        meta = dict(restored["meta"])
        if meta.get("version") != META_VERSION:
            raise CheckpointError(f"{self.directory}/{step}/meta: unsupported version "
                                  f"{meta.get('version')!r} (expected {META_VERSION})")
        sums = meta.pop(CHECKSUMS_KEY, None) or {}
        for item in items:
            verify_checksums(self.directory / str(step) / item, restored[item],
                             sums.get(item, {}))
        state = TrainState(step=target.step, params=restored["params"],
                           opt_state=restored["opt_state"] if with_optimizer else None)
        return state.replace(step=_as_step(step, target.step)), meta

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are finalized."""
        with self._writing(self._pending_step):
            self._manager.wait_until_finished()

    def close(self) -> None:
        """Finishes pending saves and releases the run folder; safe to call twice."""
        if self._manager is None:
            return
        try:
            with self._writing(self._pending_step):
                self._manager.wait_until_finished()
                self._manager.close()
        finally:
            self._manager = None
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def is_params_only(meta: dict[str, Any]) -> bool:
    """Whether a step's `meta` says it was saved without optimizer state."""
    return meta.get(OPTIMIZER_STATE_KEY) is False


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines()[0] if str(e).strip() else type(e).__name__).rstrip(": ")


def _is_damage(e: BaseException) -> bool:
    return any(isinstance(c, (json.JSONDecodeError, FileNotFoundError))
               or any(m in str(c) for m in _DAMAGE_MARKERS) for c in errors.causes(e))


def _damage_line(e: BaseException) -> str:
    """The most specific line of the chain: TensorStore's own cause when there is one."""
    lines = [ln.strip() for c in errors.causes(e) for ln in str(c).splitlines()
             if any(m in ln for m in _DAMAGE_MARKERS)]
    return lines[-1] if lines else _first_line(e)


# ------------------------------------------------------------------------------ fingerprint


def run_fingerprint(*, model_config, task: str, seed: int, optimizer_settings: dict[str, Any],
                    data: dict[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint must share with a run that resumes it.

    `optimizer_settings` is what the caller built the optimizer and schedule with
    (`optimizers.build_optimizer(...).settings`: {"schedule": {...}, "optimizer": {...}}).
    """
    return _jsonable({
        "model": dataclasses.asdict(model_config), **optimizer_settings,
        "task": task, "seed": seed, "data": data})


def _jsonable(value):
    return json.loads(json.dumps(value, default=repr))


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def settings_diff(old: dict, new: dict) -> list[str]:
    """'key: old -> new' for every flattened key of `old` whose value differs in `new`."""
    old, new = _flatten(old), _flatten(new)
    return [f"{k}: {old[k]!r} -> {new.get(k, '(unset)')!r}" for k in sorted(old)
            if old[k] != new.get(k, "(unset)")]


def _check_settings(step_dir: epath.Path, meta: dict, fingerprint: dict, allow: bool) -> None:
    # Checkpoints written before fingerprints existed still carry seed and task.
    old = meta.get("fingerprint") or {"seed": meta.get("seed"),
                                      "task": meta.get("mixture_or_task_name")}
    differences = settings_diff(old, fingerprint)
    if not differences:
        return
    listed = "; ".join(differences)
    if not allow:
        raise CheckpointError(f"{step_dir} was written with other settings ({listed}): "
                              f"resuming would mix two runs; use another MODEL_DIR, restore "
                              f"those settings, or set train.allow_changed_settings = True")
    print(f"warning: resuming {step_dir} under changed settings ({listed}), as "
          f"allow_changed_settings asks", file=sys.stderr, flush=True)


def _as_step(step: int, target):
    import jax
    import jax.numpy as jnp
    sharding = getattr(target, "sharding", None)
    value = jnp.asarray(step, jnp.int32)
    return jax.device_put(value, sharding) if sharding is not None else value


def export_params(path: str | os.PathLike, params) -> None:
    """Writes a params-only checkpoint (a StandardSave folder) at `path`."""
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(file_paths.as_path(path), params)
    checkpointer.wait_until_finished()


def _params_dir(path: epath.Path) -> epath.Path:
    """Finds the params item under a run dir, a checkpoints dir, a step dir or an export."""
    # The latest step's params, a step folder's params, then the folder itself (an export).
    # A step folder has a _CHECKPOINT_METADATA of its own, so its params/ must come first.
    candidates = [path / "params", path]
    for base in (path / CHECKPOINT_SUBDIR, path):
        if base.is_dir():
            steps = sorted((int(p.name) for p in base.iterdir()
                            if p.name.isdigit() and (p / "params").is_dir()), reverse=True)
            if steps:
                candidates.insert(0, base / str(steps[0]) / "params")
                break
    for c in candidates:
        if c.is_dir() and any(c.iterdir()) and not c.name.endswith(".orbax-checkpoint-tmp"):
            if (c / "_CHECKPOINT_METADATA").exists() or (c / "_METADATA").exists() \
                    or (c / "manifest.ocdbt").exists():
                return c
    raise CheckpointError(f"no params checkpoint found at {path} (expected a run's MODEL_DIR, "
                          f"a step folder with params/, or an export_params folder)")


def restore_params(path: str | os.PathLike, target):
    """Restores parameters only (to start a fine-tune from another run or an export).

    Args:
      path: a run's MODEL_DIR (its latest step is used), its `checkpoints/<step>` folder, or a
        folder written by `export_params`.
      target: the params tree as `jax.ShapeDtypeStruct`s with shardings.
    """
    directory = _params_dir(file_paths.as_path(path))
    try:
        params = ocp.StandardCheckpointer().restore(directory, target)
    except (FileNotFoundError, ValueError, KeyError) as e:
        reason = (str(e).splitlines()[0] if str(e) else type(e).__name__).rstrip(": ")
        hint = _structure_hint(directory, target)
        raise CheckpointError(f"cannot restore params from {directory}: {reason}"
                              + (f" ({hint})" if hint else "")) from e
    verify_checksums(directory, params, _step_checksums(directory).get("params", {}))
    return params


def _step_checksums(params_dir: epath.Path) -> dict:
    """The checksums in the `meta` beside a step folder's `params/` ({} for an export, or a
    step without them)."""
    meta_file = params_dir.parent / META_FILE
    if params_dir.name != "params" or not meta_file.exists():
        return {}
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{meta_file}: {_first_line(e)}") from e
    return (meta.get(CHECKSUMS_KEY) or {}) if isinstance(meta, dict) else {}


def _leaf_name(path) -> str:
    """'layers/mlp/wi', '0/mu/embed' for a key path of `tree_flatten_with_path`."""
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return "/".join(parts)


def _host_arrays(tree) -> Iterator[tuple[str, np.ndarray]]:
    """(name, host copy) of each array leaf that this process holds whole."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            continue  # spans hosts: no one host has its bytes
        yield _leaf_name(path), np.asarray(leaf)


def _crc(array: np.ndarray) -> str:
    return f"{zlib.crc32(np.ascontiguousarray(array).reshape(-1).view(np.uint8)):08x}"


def array_checksums(tree) -> dict[str, list]:
    """{array path: [CRC-32 of its bytes (hex), dtype, shape]} for a checkpoint item."""
    return {name: [_crc(a), str(a.dtype), list(a.shape)] for name, a in _host_arrays(tree)}


def verify_checksums(item_dir, tree, expected: dict[str, list]) -> None:
    """Checks a restored item against the checksums written at save.

    Arrays without an entry, or restored into another dtype or shape than they were saved
    with (a cast at restore changes the bytes), are not checked.

    Raises:
      CheckpointError: one line naming the first array whose bytes differ.
    """
    if not expected:
        return
    for name, array in _host_arrays(tree):
        want = expected.get(name)
        if not want or want[1] != str(array.dtype) or list(want[2]) != list(array.shape):
            continue
        got = _crc(array)
        if got != want[0]:
            raise CheckpointError(f"{item_dir}/{name}: checksum mismatch (crc32 {want[0]} at "
                                  f"save, {got} read back): the file's bytes changed after "
                                  f"the save")


def _leaves(tree, prefix: str = "") -> dict[str, Any]:
    """'a/b/c' -> leaf for every leaf of a nested-dict tree."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out = {}
    for key, sub in tree.items():
        out.update(_leaves(sub, f"{prefix}/{key}" if prefix else str(key)))
    return out


def _shape(leaf) -> Optional[tuple]:
    shape = getattr(leaf, "shape", None)
    return None if shape is None else tuple(shape)


def _structure_hint(directory: epath.Path, target) -> str:
    """Names how the checkpoint's parameter tree differs from the model's, when it does.

    Example: "the checkpoint has scanned layers ('layers/...') and the model unrolled ones
    ('blocks_0/...'): set ModelConfig.scan_layers = True; 9 checkpoint paths not in the
    model, e.g. layers/block/attention/k".
    """
    try:
        stored = ocp.StandardCheckpointer().metadata(directory).item_metadata.tree
    except Exception:  # noqa: BLE001 (a hint must never hide the original error)
        return ""
    stored_leaves, wanted_leaves = _leaves(stored), _leaves(target)
    on_disk, wanted = set(stored_leaves), set(wanted_leaves)
    extra, missing = sorted(on_disk - wanted), sorted(wanted - on_disk)
    reshaped = sorted(p for p in on_disk & wanted
                      if _shape(stored_leaves[p]) != _shape(wanted_leaves[p]))
    if not extra and not missing and not reshaped:
        return ""
    notes = []
    if reshaped:
        p = reshaped[0]
        notes.append(f"the checkpoint was written for another model preset: {len(reshaped)} "
                     f"parameters differ in shape, e.g. {p}: {_shape(stored_leaves[p])} in "
                     f"the checkpoint vs {_shape(wanted_leaves[p])} in the model (use the "
                     f"gin_configs/models/*.gin the checkpoint was trained with)")
    scanned = lambda paths: any(p.startswith("layers/") for p in paths)
    unrolled = lambda paths: any(p.startswith("blocks_") for p in paths)
    if scanned(on_disk) and unrolled(wanted):
        notes.append("the checkpoint has scanned layers ('layers/...') and the model unrolled "
                     "ones ('blocks_0/...'): set ModelConfig.scan_layers = True")
    elif unrolled(on_disk) and scanned(wanted):
        notes.append("the checkpoint has unrolled layers ('blocks_0/...') and the model "
                     "scanned ones ('layers/...'): set ModelConfig.scan_layers = False")
    if extra:
        notes.append(f"{len(extra)} checkpoint paths not in the model, e.g. {extra[0]}")
    if missing:
        notes.append(f"{len(missing)} model paths not in the checkpoint, e.g. {missing[0]}")
    return "; ".join(notes)
