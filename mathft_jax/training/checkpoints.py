"""Orbax checkpoints of a training run: periodic async saves, keep-N, exact resume.

Layout of a run directory (`MODEL_DIR/checkpoints`), one folder per saved step:

    checkpoints/
      200/
        params/      orbax StandardSave of the parameter tree (sharded arrays)
        opt_state/   orbax StandardSave of the optimizer state
        meta/        JSON, see below
      400/ ...

`meta` (schema version 1):

    {"version": 1, "step": 400, "batches_consumed": 400, "seed": 0,
     "mixture_or_task_name": "math_sft"}

`batches_consumed` is the input position: a resumed run rebuilds the (seeded, deterministic)
input pipeline and skips that many batches, so it sees exactly the batches an uninterrupted
run would.

Orbax writes each step into `<step>.orbax-checkpoint-tmp-*` and renames it only after every
item is written (atomic finalize), so a crash mid-save leaves a temporary folder that is never
taken as the latest checkpoint and is cleaned up by the next run.

A params-only export (`export_params`) is a plain orbax StandardSave folder of the params;
`restore_params` accepts that, a step folder, or a run's checkpoint directory (latest step).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import orbax.checkpoint as ocp

from mathft_jax.gin_utils import ConfigError

from mathft_jax.training.train_state import TrainState

META_VERSION = 1
CHECKPOINT_SUBDIR = "checkpoints"
ITEMS = ("params", "opt_state", "meta")


class CheckpointError(ConfigError):
    """A checkpoint that cannot be found or read; the message names the path."""


class RunCheckpoints:
    """Saves and restores the TrainState plus the input position of one run.

    Example:
        ckpt = RunCheckpoints("runs/tiny_sft", save_every=100, keep=3)
        if ckpt.latest_step() is not None:
            state, meta = ckpt.restore(ckpt.latest_step(), abstract_state_with_shardings)
        ...
        ckpt.save(state, {"batches_consumed": n, "seed": 0, ...})   # every step; saves
                                                                    # only every 100th
        ckpt.close()
    """

    def __init__(self, model_dir: str | os.PathLike, *, save_every: int = 1000, keep: int = 3,
                 async_save: bool = True):
        self.directory = Path(model_dir).absolute() / CHECKPOINT_SUBDIR
        options = ocp.CheckpointManagerOptions(
            save_interval_steps=max(int(save_every), 1),
            max_to_keep=keep if keep and keep > 0 else None,
            create=True,
            cleanup_tmp_directories=True,
            enable_async_checkpointing=async_save,
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=ITEMS)

    def latest_step(self) -> Optional[int]:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self._manager.all_steps())

    def save(self, state: TrainState, meta: dict[str, Any], force: bool = False) -> bool:
        """Saves at `state.step` if the period says so (or `force`); returns whether it did.

        The save is asynchronous: arrays are copied to host first, so `state` may be donated
        to the next train step right after this returns.
        """
        step = int(state.step)
        meta = {"version": META_VERSION, "step": step, **meta}
        return self._manager.save(
            step,
            args=ocp.args.Composite(params=ocp.args.StandardSave(state.params),
                                    opt_state=ocp.args.StandardSave(state.opt_state),
                                    meta=ocp.args.JsonSave(meta)),
            force=force)

    def restore(self, step: int, target: TrainState) -> tuple[TrainState, dict[str, Any]]:
        """Restores step `step` into the shapes, dtypes and shardings of `target`
        (a TrainState of `jax.ShapeDtypeStruct`s with `sharding` set)."""
        try:
            restored = self._manager.restore(
                step,
                args=ocp.args.Composite(params=ocp.args.StandardRestore(target.params),
                                        opt_state=ocp.args.StandardRestore(target.opt_state),
                                        meta=ocp.args.JsonRestore()))
        except (FileNotFoundError, ValueError, KeyError) as e:
            raise CheckpointError(f"cannot restore step {step} from {self.directory}: "
                                  f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                                  ) from e
        meta = dict(restored["meta"])
        if meta.get("version") != META_VERSION:
            raise CheckpointError(f"{self.directory}/{step}/meta: unsupported version "
                                  f"{meta.get('version')!r} (expected {META_VERSION})")
        state = TrainState(step=target.step, params=restored["params"],
                           opt_state=restored["opt_state"])
        return state.replace(step=_as_step(step, target.step)), meta

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are finalized."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()


def _as_step(step: int, target):
    import jax
    import jax.numpy as jnp
    sharding = getattr(target, "sharding", None)
    value = jnp.asarray(step, jnp.int32)
    return jax.device_put(value, sharding) if sharding is not None else value


def export_params(path: str | os.PathLike, params) -> None:
    """Writes a params-only checkpoint (a StandardSave folder) at `path`."""
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(Path(path).absolute(), params)
    checkpointer.wait_until_finished()


def _params_dir(path: Path) -> Path:
    """Finds the params item under a run dir, a checkpoints dir, a step dir or an export."""
    candidates = [path]
    for base in (path / CHECKPOINT_SUBDIR, path):
        if base.is_dir():
            steps = sorted((int(p.name) for p in base.iterdir()
                            if p.name.isdigit() and (p / "params").is_dir()), reverse=True)
            if steps:
                candidates.insert(0, base / str(steps[0]) / "params")
                break
    candidates.insert(1, path / "params")
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
    directory = _params_dir(Path(path).absolute())
    try:
        return ocp.StandardCheckpointer().restore(directory, target)
    except (FileNotFoundError, ValueError, KeyError) as e:
        reason = (str(e).splitlines()[0] if str(e) else type(e).__name__).rstrip(": ")
        hint = _structure_hint(directory, target)
        raise CheckpointError(f"cannot restore params from {directory}: {reason}"
                              + (f" ({hint})" if hint else "")) from e


def _paths(tree) -> set[str]:
    """'a/b/c' for every leaf of a nested-dict tree."""
    if not isinstance(tree, dict):
        return {""}
    return {f"{key}/{rest}".rstrip("/") for key, sub in tree.items() for rest in _paths(sub)}


def _structure_hint(directory: Path, target) -> str:
    """Names how the checkpoint's parameter tree differs from the model's, when it does.

    Example: "the checkpoint has scanned layers ('layers/...') and the model unrolled ones
    ('blocks_0/...'): set ModelConfig.scan_layers = True; 9 checkpoint paths not in the
    model, e.g. layers/block/attention/k".
    """
    try:
        stored = ocp.StandardCheckpointer().metadata(directory).item_metadata.tree
    except Exception:  # noqa: BLE001 (a hint must never hide the original error)
        return ""
    on_disk, wanted = _paths(stored), _paths(target)
    extra, missing = sorted(on_disk - wanted), sorted(wanted - on_disk)
    if not extra and not missing:
        return ""
    notes = []
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
