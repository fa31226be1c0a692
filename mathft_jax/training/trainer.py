"""The training loop: sharded steps, periodic eval, checkpoints, exact resume, preemption.

`train_loop` is what `python -m mathft_jax.train` runs (through the gin-configurable
`mathft_jax.train.train`); later stages (evaluator training, multi-task sequential
fine-tuning) call it with their own `objective` (`training.objective`: the loss and the row
layout it needs; the evaluator exports its own) and `init_checkpoint`.

Resume rules, checked in this order:
  1. MODEL_DIR/checkpoints has a finalized step: restore params, optimizer state, step and the
     input position from it (a restarted or preempted job continues exactly). A damaged
     newest step is set aside for the previous one; a step written under other settings is
     refused unless `allow_changed_settings` (see `checkpoints.RunCheckpoints.restore_latest`).
     A params-only step at `train_steps` (`final_optimizer_state=False`) is a finished run:
     the loop returns at once.
     The run owns MODEL_DIR while it trains (`run_lock`): a second run on it is refused.
  2. `init_checkpoint` is set: restore params only from it (another run's MODEL_DIR, a step
     folder, a params export, or "pretrained:<name>" through `models.pretrained_params`), fresh
     optimizer state, step 0.
  3. Otherwise initialise from `seed`.

SIGTERM (what a Cloud TPU maintenance event or preemption sends) makes the loop finish the
current step, save a checkpoint, wait for it to be finalized and return normally (exit 0).

A NaN or infinite loss or gradient norm stops the run (`TrainingDiverged`, one line naming the
first such step) before anything after it is saved, so the newest checkpoint stays the last
finite one. The check adds no host sync per step: each step's two scalars stay on the device
until values are fetched anyway (a progress line) or a save is due, which checks them first.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
import threading
import uuid
from typing import Callable, Optional, Sequence

import jax
import numpy as np
import optax
from etils import epath

from mathft_jax import file_paths, partitioning, preflight
from mathft_jax.data.task_lookup import get_task, task_vocab_size
from mathft_jax.errors import ConfigError
from mathft_jax.models import ModelConfig
from mathft_jax.models.pretrained_params import PRETRAINED_PREFIX, load_pretrained_params
from mathft_jax.training import checkpoints, data, train_state, train_step
from mathft_jax.training.metrics import MetricsLogger
from mathft_jax.training.objective import LossFnFactory, Objective  # noqa: F401 (re-exported)

StepCallback = Callable[[int, train_state.TrainState], None]


# Metrics whose non-finite value stops the run (`_FiniteCheck`).
CHECKED_METRICS = ("loss", "grad_norm")


class TrainingDiverged(ConfigError):
    """A step's loss or gradient norm was NaN or infinite; nothing from it on was saved."""


class _FiniteCheck:
    """Holds each step's loss and gradient norm on the device until `check` fetches them.

    `add` only keeps references (no transfer, no sync); `check` is called where the loop
    waits for the device anyway (a progress line, a checkpoint save) and raises
    `TrainingDiverged` naming the first step with a non-finite value.
    """

    def __init__(self, model_dir, ckpt: "checkpoints.RunCheckpoints"):
        self._model_dir = model_dir
        self._ckpt = ckpt
        self._pending: list[tuple[int, dict]] = []

    def add(self, step: int, metrics: dict) -> None:
        self._pending.append((step, {k: metrics[k] for k in CHECKED_METRICS if k in metrics}))

    def check(self) -> None:
        pending, self._pending = self._pending, []
        for step, values in jax.device_get(pending):
            if not all(np.all(np.isfinite(v)) for v in values.values()):
                latest = self._ckpt.latest_step()
                kept = (f"the newest checkpoint is step {latest}" if latest is not None
                        else "no checkpoint was written")
                values = ", ".join(f"{k} {float(values[k]):g}" for k in CHECKED_METRICS
                                   if k in values)
                raise TrainingDiverged(
                    f"{self._model_dir}: training diverged at step {step} ({values}): "
                    f"stopped before saving it; {kept} (lower the learning rate or check "
                    f"the data, then rerun)")


@dataclasses.dataclass
class TrainResult:
    """What a finished (or preempted) run returns."""

    state: train_state.TrainState
    step: int
    preempted: bool
    train_metrics: dict[str, float]
    eval_metrics: dict[str, float]
    history: list[dict[str, float]]  # every logged train_metrics, with its "step"


def check_model_dir(model_dir: str | os.PathLike) -> epath.Path:
    """Creates MODEL_DIR and proves it writable, or raises a one-line ConfigError.

    MODEL_DIR may be local or a `gs://` URI (`file_paths`); on an object store the probe is
    a small object, written and deleted.
    """
    path = file_paths.as_path(model_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if file_paths.is_local(path):
            with tempfile.NamedTemporaryFile(dir=path, prefix=".write_test_"):
                pass
        else:
            probe = path / f".write_test_{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as e:
        raise ConfigError(f"MODEL_DIR {path} is not writable: "
                          f"{e.strerror or type(e).__name__}") from None
    return path


class _PreemptionFlag:
    """Records SIGTERM instead of dying, so the loop can save first (main thread only)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        del signum, frame
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _sum_metrics(total: Optional[dict], new: dict) -> dict:
    new = {k: np.asarray(v, np.float64) for k, v in jax.device_get(new).items()}
    return new if total is None else {k: total[k] + new[k] for k in total}


def _has_split(task, split: str) -> bool:
    tasks = getattr(task, "tasks", None) or [task]
    return all(split in t.splits for t in tasks)


def progress_bar(total: int, initial: int, stream=None):
    """A tqdm bar over the run's steps (rate and ETA) when `stream` (default stdout) is a
    terminal, on process 0; None otherwise, so logs of batch jobs stay at one line per
    `log_every` steps."""
    stream = sys.stdout if stream is None else stream
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if not terminal or jax.process_index() != 0:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                desc="train", smoothing=0.1)


def _init_params(model_config: ModelConfig, init_checkpoint: str, target):
    """Params from `init_checkpoint`, laid out like `target` (ShapeDtypeStructs)."""
    if not init_checkpoint.startswith(PRETRAINED_PREFIX):
        return checkpoints.restore_params(init_checkpoint, target)
    shardings = jax.tree_util.tree_map(lambda t: t.sharding, target)
    params, _ = load_pretrained_params(model_config, init_checkpoint[len(PRETRAINED_PREFIX):],
                                       train_state.abstract_params(model_config), shardings)
    return params


def train_loop(*, model_config: ModelConfig, model_dir: str, mixture_or_task_name: str,
               train_steps: int, optimizer: optax.GradientTransformation,
               schedule: Optional[optax.Schedule] = None,
               optimizer_settings: Optional[dict] = None, batch_size: int = 8,
               sequence_length: int = 512,
               inputs_length: Optional[int] = None, pack: bool = True,
               num_microbatches: int = 1, seed: int = 0,
               mesh_shape: Sequence[int] = (-1, 1, 1),
               rules=partitioning.DEFAULT_RULES,
               objective: Objective = Objective(),
               init_checkpoint: Optional[str] = None,
               log_every: int = 10, eval_every: int = 0, eval_steps: Optional[int] = None,
               eval_split: str = "validation", checkpoint_every: int = 1000,
               keep_checkpoints: int = 3, async_checkpoints: bool = True,
               final_optimizer_state: bool = True, allow_changed_settings: bool = False,
               step_callbacks: Sequence[StepCallback] = (),
               summary_dir: Optional[str] = None, summaries: bool = True) -> TrainResult:
    """Trains `model_config` on a SeqIO task or mixture; see the module docstring.

    Args:
      model_config: the decoder (param_dtype / dtype set storage and compute dtypes).
      model_dir: run directory (checkpoints/, train/ and eval/ TensorBoard logs).
      mixture_or_task_name: registered SeqIO task or mixture (the `tasks` package is
        imported first when it exists).
      train_steps: total optimizer steps of the run (a resumed run stops at the same step).
      optimizer: the optax transformation (e.g. `optimizers.make_optimizer(schedule)`); the
        caller builds it, so each stage of a multi-stage run sets its own.
      schedule: its learning-rate schedule, only to report `learning_rate`.
      optimizer_settings: what they were built with, fingerprinted in checkpoints (use
        `optimizers.build_optimizer(...).train_loop_args()` for all three).
      batch_size: global batch size in sequences (split over processes and devices).
      sequence_length: decoder length of a (packed) row.
      inputs_length: for prefix-LM tasks, the task length of `inputs` (default half).
      pack: pack several examples per row (SeqIO packing; segment ids keep them apart).
      num_microbatches: gradient accumulation steps per optimizer step.
      seed: parameter init, data shuffling and per-step rngs.
      mesh_shape: (data, fsdp, tensor) sizes, one of them may be -1 (fill).
      rules: logical axis rules (partitioning.DEFAULT_RULES).
      objective: the loss factory, feature converter and feature lengths
        (`training.objective.sft_objective()` by default; `evaluator.objective.task_objective`
        for evaluator tasks).
      init_checkpoint: params-only starting point when MODEL_DIR has no checkpoint yet (a
        checkpoint path or "pretrained:<name>").
      log_every: steps between progress lines / TensorBoard train scalars.
      eval_every: steps between evaluations on `eval_split` (0: never; always at the end if
        the split exists and eval_every > 0).
      eval_steps: batches per evaluation (None: the whole split).
      eval_split: evaluation split name.
      checkpoint_every: steps between checkpoints (a final one is always written).
      keep_checkpoints: how many recent checkpoints to keep.
      async_checkpoints: write checkpoints in the background.
      final_optimizer_state: keep the optimizer state in the last step's checkpoint. False
        saves that step params-only (a third of the size with Adam), for runs nothing will
        resume (finished recipe stages): it still starts other runs (`init_checkpoint`) and
        is decoded, scored and exported like any checkpoint (`checkpoints` module docstring).
      allow_changed_settings: resume MODEL_DIR's checkpoint even when it was written under
        other settings (`checkpoints.run_fingerprint`); the differences are printed.
      step_callbacks: called as fn(step, state) after every step (monitoring, tests).
      summary_dir: where the TensorBoard folders train/ and eval/ go (None: `model_dir`),
        e.g. a local folder while `model_dir` is on `gs://` (`metrics` module docstring).
      summaries: False writes no TensorBoard summaries at all.

    Progress: one console line every `log_every` steps; on a terminal also a tqdm bar with
    the rate and ETA (`progress_bar`), the lines printed above it.
    """
    # Installed first: a SIGTERM during start-up is honoured after the first step.
    with _PreemptionFlag() as preemption:
        preflight.check_train(
            train_steps=train_steps, batch_size=batch_size, sequence_length=sequence_length,
            num_microbatches=num_microbatches, inputs_length=inputs_length,
            log_every=log_every, eval_every=eval_every, eval_steps=eval_steps,
            checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints,
            init_checkpoint=init_checkpoint, model_dir=model_dir)
        model_path = check_model_dir(model_dir)
        task = _checked_task(mixture_or_task_name, model_config)
        lengths = objective.feature_lengths(task, sequence_length, inputs_length)
        converter = objective.feature_converter(task, pack)
        mesh = _checked_mesh(mesh_shape, batch_size, num_microbatches)
        abstract, shardings = train_state.state_shardings(model_config, optimizer, mesh, rules)
        target = train_state.with_shardings(abstract, shardings)
        ckpt = checkpoints.RunCheckpoints(model_path, save_every=checkpoint_every,
                                          keep=keep_checkpoints, async_save=async_checkpoints,
                                          final_step=train_steps,
                                          final_params_only=not final_optimizer_state)
        fingerprint = checkpoints.run_fingerprint(
            model_config=model_config, task=mixture_or_task_name, seed=seed,
            optimizer_settings=optimizer_settings or {},
            data={"batch_size": batch_size, "pack": pack, "sequence_length": sequence_length,
                  "inputs_length": inputs_length})
        state, batches_consumed = _restore_or_init(
            ckpt, target, fingerprint, allow_changed_settings, model_config=model_config,
            optimizer=optimizer, mesh=mesh, shardings=shardings,
            init_checkpoint=init_checkpoint, seed=seed)
        loss_fn = objective.loss_fn_factory(model_config, task)
        batches = data.train_batches(mixture_or_task_name, lengths, batch_size, seed=seed,
                                     start_batch=batches_consumed, converter=converter)
        first = _first_batch(batches, ckpt, mixture_or_task_name, batch_size)
        batch_ndims = {k: v.ndim for k, v in first.items()}
        step_fn = train_step.make_train_step(loss_fn, optimizer, mesh, shardings, batch_ndims,
                                             num_microbatches, schedule, rules)
        evaluation = _Evaluation.maybe(
            task, mixture_or_task_name, eval_every=eval_every, eval_split=eval_split,
            eval_steps=eval_steps, lengths=lengths, batch_size=batch_size,
            converter=converter, eval_fn_factory=lambda: train_step.make_eval_step(
                loss_fn, mesh, shardings.params, batch_ndims, rules), mesh=mesh)
        step = int(jax.device_get(state.step))
        bar = progress_bar(train_steps, step)
        logger = MetricsLogger(model_path, train_steps, batch_size * sequence_length,
                               line_writer=bar.write if bar is not None else None,
                               summary_dir=summary_dir, summaries=summaries)
        loop = _StepLoop(step_fn=step_fn, mesh=mesh, rng=jax.random.key(seed + 1), ckpt=ckpt,
                         logger=logger, finite=_FiniteCheck(model_path, ckpt), bar=bar,
                         evaluation=evaluation, preemption=preemption,
                         callbacks=tuple(step_callbacks), train_steps=train_steps,
                         log_every=log_every, checkpoint_every=checkpoint_every,
                         run_meta={"seed": seed, "mixture_or_task_name": mixture_or_task_name,
                                   "fingerprint": fingerprint})
        try:
            return loop.run(state, step, batches_consumed, first, batches)
        finally:
            if bar is not None:
                bar.close()
            ckpt.close()
            logger.close()


def _checked_task(name: str, model_config: ModelConfig):
    """The task or mixture `name`, after checking the model covers its vocabulary."""
    task = get_task(name)
    vocab = task_vocab_size(name)
    if model_config.vocab_size < vocab:
        raise ConfigError(f"model vocab_size {model_config.vocab_size} is smaller than the "
                          f"vocabulary of task {name!r} ({vocab})")
    return task


def _checked_mesh(mesh_shape: Sequence[int], batch_size: int, num_microbatches: int):
    """The device mesh, after checking the batch splits evenly over it and the microbatches."""
    mesh = partitioning.make_mesh(*mesh_shape)
    shards = partitioning.num_batch_shards(mesh)
    if batch_size % (shards * num_microbatches):
        raise ConfigError(f"batch_size {batch_size} must be divisible by data x fsdp "
                          f"({shards}) x num_microbatches ({num_microbatches})")
    return mesh


def _restore_or_init(ckpt: checkpoints.RunCheckpoints, target, fingerprint: dict,
                     allow_changed_settings: bool, *, model_config: ModelConfig,
                     optimizer: optax.GradientTransformation, mesh, shardings,
                     init_checkpoint: Optional[str], seed: int
                     ) -> tuple[train_state.TrainState, int]:
    """The starting state and input position, by the module docstring's resume rules."""
    restored = ckpt.restore_latest(target, fingerprint, allow_changed_settings)
    if restored is not None:
        state, saved = restored
        batches_consumed = int(saved["batches_consumed"])
        print(f"resuming from {ckpt.directory}/{saved['step']} (input position "
              f"{batches_consumed} batches)", flush=True)
        return state, batches_consumed
    if init_checkpoint:
        params = _init_params(model_config, init_checkpoint, target.params)
        print(f"initialised params from {init_checkpoint}", flush=True)
        return train_state.state_from_params(params, optimizer, shardings), 0
    return train_state.init_train_state(model_config, optimizer, mesh, jax.random.key(seed),
                                        shardings), 0


def _first_batch(batches, ckpt: checkpoints.RunCheckpoints, name: str, batch_size: int) -> dict:
    """The first batch of this host, or a ConfigError (the checkpointer closed) if none."""
    first = next(batches, None)
    if first is None:
        ckpt.close()
        raise ConfigError(f"task {name!r} gives no full batch of {batch_size} rows on this "
                          "host (empty train split?)")
    return first


@dataclasses.dataclass(frozen=True)
class _Evaluation:
    """Periodic evaluation on a split: summed metrics over its batches, logged."""

    name: str
    every: int
    split: str
    max_batches: Optional[int]
    lengths: dict
    batch_size: int
    converter: object
    eval_fn: Callable
    mesh: object

    @classmethod
    def maybe(cls, task, name: str, *, eval_every: int, eval_split: str,
              eval_steps: Optional[int], lengths: dict, batch_size: int, converter,
              eval_fn_factory: Callable[[], Callable], mesh) -> Optional["_Evaluation"]:
        """The evaluation, or None when `eval_every` is 0 or the task lacks the split."""
        if eval_every <= 0:
            return None
        if not _has_split(task, eval_split):
            print(f"note: {name!r} has no {eval_split!r} split; eval disabled", flush=True)
            return None
        return cls(name, eval_every, eval_split, eval_steps, lengths, batch_size, converter,
                   eval_fn_factory(), mesh)

    def due(self, step: int, train_steps: int) -> bool:
        return step % self.every == 0 or step == train_steps

    def __call__(self, step: int, params, logger: MetricsLogger) -> dict[str, float]:
        total = None
        for local in data.eval_batches(self.name, self.lengths, self.batch_size,
                                       split=self.split, max_batches=self.max_batches,
                                       converter=self.converter):
            total = _sum_metrics(total, self.eval_fn(
                params, partitioning.make_global_batch(local, self.mesh)))
        if total is None:
            return {}
        return logger.eval(step, {k: float(v) for k, v in
                                  train_step.summarize_metrics(total).items()})


@dataclasses.dataclass
class _StepLoop:
    """The step loop: train, log, check finiteness, checkpoint, evaluate, honour SIGTERM."""

    step_fn: Callable
    mesh: object
    rng: jax.Array
    ckpt: checkpoints.RunCheckpoints
    logger: MetricsLogger
    finite: _FiniteCheck
    bar: object
    evaluation: Optional[_Evaluation]
    preemption: _PreemptionFlag
    callbacks: tuple[StepCallback, ...]
    train_steps: int
    log_every: int
    checkpoint_every: int
    run_meta: dict

    def run(self, state, step: int, batches_consumed: int, pending: Optional[dict],
            batches) -> TrainResult:
        """Steps from `step` to `train_steps` (or a SIGTERM); `pending` is the next batch."""
        train_metrics: dict[str, float] = {}
        eval_metrics: dict[str, float] = {}
        history: list[dict[str, float]] = []
        started, preempted = False, False
        while step < self.train_steps:
            local = pending if pending is not None else next(batches)
            pending = None
            state, metrics = self.step_fn(state, partitioning.make_global_batch(local, self.mesh),
                                          self.rng)
            step += 1
            batches_consumed += 1
            self.finite.add(step, metrics)
            if self.bar is not None:
                self.bar.update(1)
            if not started or step % self.log_every == 0 or step == self.train_steps:
                train_metrics = self.logger.train(step, jax.device_get(metrics))
                history.append({"step": step, **train_metrics})
                self.finite.check()  # the values are on the host now: no extra wait
            if not started:  # rates exclude the first step's compilation
                self.logger.start(step)
                started = True
            meta = {"batches_consumed": batches_consumed, **self.run_meta}
            if step % max(self.checkpoint_every, 1) == 0 or step == self.train_steps:
                self._save(state, meta)
            if self.evaluation is not None and self.evaluation.due(step, self.train_steps):
                eval_metrics = self.evaluation(step, state.params, self.logger)
                self.logger.start(step)  # rates exclude eval time
            for callback in self.callbacks:
                callback(step, state)
            if self.preemption.requested:
                if self.ckpt.latest_step() != step:
                    self._save(state, meta)
                self.ckpt.wait()
                print(f"SIGTERM: saved step {step} to {self.ckpt.directory}; exiting", flush=True)
                preempted = True
                break
        self.finite.check()
        if step >= self.train_steps and self.ckpt.latest_step() != step and self.train_steps > 0:
            self._save(state, {"batches_consumed": batches_consumed, **self.run_meta})
        return TrainResult(state=state, step=step, preempted=preempted,
                           train_metrics=train_metrics, eval_metrics=eval_metrics,
                           history=history)

    def _save(self, state, meta: dict) -> None:
        """Checks every held step is finite, then saves (nothing non-finite is ever saved)."""
        self.finite.check()
        self.ckpt.save(state, meta, force=True)
