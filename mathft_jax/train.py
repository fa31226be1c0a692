"""Train entry point (T5X style).

    python -m mathft_jax.train \
        --gin_file=gin_configs/models/tiny.gin --gin_file=gin_configs/runs/sft.gin \
        --gin.MODEL_DIR="'runs/tiny_sft'" --gin.MIXTURE_OR_TASK_NAME="'synthetic_sft'" \
        --gin.TRAIN_STEPS=100

Configuration problems (unknown binding, unset required argument or macro, unknown task,
unwritable MODEL_DIR, a model vocabulary smaller than the task's) exit with status 2 and one
`error: ...` line on stderr. See `mathft_jax.training.trainer` for resume and preemption.

From Python, gin-free: `run_train(TrainSettings(model_config=..., model_dir=...,
mixture_or_task_name=..., train_steps=...))`; only `main` reads gin.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported by seqio

import sys  # noqa: E402
from typing import Any, Callable, Mapping, Optional, Sequence  # noqa: E402

if __name__ == "__main__":
    # Run the copy imported under its package name, so that gin sees one configurable `train`
    # even when a gin file says `import mathft_jax.train`.
    from mathft_jax.train import main as _main
    _main()
    sys.exit(0)

import dataclasses  # noqa: E402

import gin  # noqa: E402

from mathft_jax import gin_utils  # noqa: E402
from mathft_jax.models.config import ModelConfig  # noqa: E402 (registers ModelConfig)
from mathft_jax.training import losses, optimizers  # noqa: E402,F401 (gin configurables)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Everything one `train` run reads: `trainer.train_loop`'s arguments (see its docstring)
    and the optimizer's. On the command line, gin binds the fields under the name `train`
    (`gin_configs/runs/sft.gin`); `main` fills `schedule`, `optimizer` and `loss_fn_factory`
    from the bindings of `make_schedule`, `make_optimizer` and `make_sft_loss`
    (`completed_from_gin`).

    Attributes beyond `train_loop`'s:
      mesh_shape: the device mesh (data, fsdp, tensor); -1 takes the remaining devices.
      schedule: `make_schedule` arguments (None: its defaults), for `build_optimizer`.
      optimizer: `make_optimizer` arguments (None: its defaults).
      loss_fn_factory: None for `make_sft_loss` with its defaults.
      distributed_init: force TPU-metadata discovery at multi-host start-up
        (`distributed.maybe_initialize`; otherwise the environment decides).
      summary_dir: TensorBoard summaries go there instead of under MODEL_DIR (e.g. local
        while MODEL_DIR is on `gs://`); `summaries=False` writes none.
    """

    model_config: ModelConfig
    model_dir: str
    mixture_or_task_name: str
    train_steps: int
    batch_size: int = 8
    sequence_length: int = 512
    inputs_length: Optional[int] = None
    pack: bool = True
    num_microbatches: int = 1
    seed: int = 0
    mesh_shape: Sequence[int] = (-1, 1, 1)
    schedule: Optional[Mapping[str, Any]] = None
    optimizer: Optional[Mapping[str, Any]] = None
    loss_fn_factory: Optional[Callable] = None
    init_checkpoint: Optional[str] = None
    log_every: int = 10
    eval_every: int = 0
    eval_steps: Optional[int] = None
    eval_split: str = "validation"
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    async_checkpoints: bool = True
    allow_changed_settings: bool = False
    distributed_init: bool = False
    summary_dir: Optional[str] = None
    summaries: bool = True


def run_train(settings: TrainSettings) -> Any:
    """Runs `trainer.train_loop` with these settings (gin-free)."""
    s = settings
    from mathft_jax import distributed
    distributed.maybe_initialize(force=s.distributed_init)
    from mathft_jax.evaluator.objective import task_objective  # heavy (TensorFlow), as is
    from mathft_jax.training import trainer  # the trainer: after the config checks

    built = optimizers.build_optimizer(s.train_steps, schedule=dict(s.schedule or {}),
                                       optimizer=dict(s.optimizer or {}))
    return trainer.train_loop(
        model_config=s.model_config, model_dir=s.model_dir,
        mixture_or_task_name=s.mixture_or_task_name, train_steps=s.train_steps,
        **built.train_loop_args(),
        batch_size=s.batch_size, sequence_length=s.sequence_length,
        inputs_length=s.inputs_length, pack=s.pack, num_microbatches=s.num_microbatches,
        seed=s.seed, mesh_shape=tuple(s.mesh_shape),
        objective=task_objective(s.loss_fn_factory or losses.make_sft_loss),
        init_checkpoint=s.init_checkpoint, log_every=s.log_every, eval_every=s.eval_every,
        eval_steps=s.eval_steps, eval_split=s.eval_split,
        checkpoint_every=s.checkpoint_every, keep_checkpoints=s.keep_checkpoints,
        async_checkpoints=s.async_checkpoints,
        allow_changed_settings=s.allow_changed_settings, summary_dir=s.summary_dir,
        summaries=s.summaries)


def completed_from_gin(settings: TrainSettings) -> TrainSettings:
    """`settings` (bound as `train.*`) completed at the entry point's edge: the optimizer from
    `make_schedule.*` / `make_optimizer.*` (`optimizer_from_gin`) and, unless
    `train.loss_fn_factory` is bound, `make_sft_loss` with its bindings
    (`make_sft_loss.z_loss`)."""
    return dataclasses.replace(
        settings, **optimizer_from_gin(),
        loss_fn_factory=(settings.loss_fn_factory
                         or gin.get_configurable(losses.make_sft_loss)))


def optimizer_from_gin() -> dict[str, dict[str, Any]]:
    """{"schedule", "optimizer"}: the arguments of `make_schedule` / `make_optimizer` as gin
    binds them, read here at the edge (the library's `build_optimizer` reads no gin)."""
    return {"schedule": gin_utils.configured_arguments(optimizers.make_schedule),
            "optimizer": gin_utils.configured_arguments(optimizers.make_optimizer)}


gin.register("train", module="mathft_jax.train")(TrainSettings)


def main(argv: Optional[Sequence[str]] = None) -> Any:
    """`python -m mathft_jax.train`: the settings from gin, then `run_train`."""
    return gin_utils.run_tool("train", TrainSettings,
                              lambda settings: run_train(completed_from_gin(settings)), argv)

