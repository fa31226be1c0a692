"""Train entry point (T5X style).

    python -m mathft_jax.train \
        --gin_file=gin_configs/models/tiny.gin --gin_file=gin_configs/runs/sft.gin \
        --gin.MODEL_DIR="'runs/tiny_sft'" --gin.MIXTURE_OR_TASK_NAME="'synthetic_sft'" \
        --gin.TRAIN_STEPS=100

Configuration problems (unknown binding, unset required argument or macro, unknown task,
unwritable MODEL_DIR, a model vocabulary smaller than the task's) exit with status 2 and one
`error: ...` line on stderr. See `mathft_jax.training.trainer` for resume and preemption.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported by seqio

import sys  # noqa: E402
from typing import Callable, Optional, Sequence  # noqa: E402

if __name__ == "__main__":
    # Run the copy imported under its package name, so that gin sees one configurable `train`
    # even when a gin file says `import mathft_jax.train`.
    from mathft_jax.train import main as _main
    _main()
    sys.exit(0)

import gin  # noqa: E402

from mathft_jax import gin_utils  # noqa: E402
from mathft_jax.models import config as _model_config  # noqa: E402,F401 (registers ModelConfig)
from mathft_jax.training import losses, optimizers  # noqa: E402,F401 (gin configurables)


@gin.configurable
def train(*, model_config=gin.REQUIRED, model_dir: str = gin.REQUIRED,
          mixture_or_task_name: str = gin.REQUIRED, train_steps: int = gin.REQUIRED,
          batch_size: int = 8, sequence_length: int = 512, inputs_length: Optional[int] = None,
          pack: bool = True, num_microbatches: int = 1, seed: int = 0,
          mesh_shape: Sequence[int] = (-1, 1, 1),
          loss_fn_factory: Optional[Callable] = None,
          init_checkpoint: Optional[str] = None, log_every: int = 10, eval_every: int = 0,
          eval_steps: Optional[int] = None, eval_split: str = "validation",
          checkpoint_every: int = 1000, keep_checkpoints: int = 3,
          async_checkpoints: bool = True, allow_changed_settings: bool = False,
          distributed_init: bool = False, summary_dir: Optional[str] = None,
          summaries: bool = True):
    """Runs `trainer.train_loop` with gin-bound arguments (see its docstring).

    Multi-host start-up: see `mathft_jax.distributed.maybe_initialize` (the environment
    decides; `distributed_init=True` forces TPU-metadata discovery). Every host runs the
    same command.

    TensorBoard summaries go under MODEL_DIR unless `summary_dir` names another folder
    (`--gin.train.summary_dir="'/tmp/tb'"`, e.g. local while MODEL_DIR is on `gs://`);
    `--gin.train.summaries=False` writes none.

    `loss_fn_factory` None: `make_sft_loss` with its gin bindings (`make_sft_loss.z_loss`),
    configured here since the library's losses read no gin.
    """
    from mathft_jax import distributed
    distributed.maybe_initialize(force=distributed_init)
    from mathft_jax.evaluator.objective import task_objective  # heavy (TensorFlow), as is
    from mathft_jax.training import trainer  # the trainer: after the config checks

    built = optimizer_from_gin(train_steps)
    loss_fn_factory = loss_fn_factory or gin.get_configurable(losses.make_sft_loss)
    return trainer.train_loop(
        model_config=model_config, model_dir=model_dir,
        mixture_or_task_name=mixture_or_task_name, train_steps=train_steps,
        **built.train_loop_args(),
        batch_size=batch_size, sequence_length=sequence_length, inputs_length=inputs_length,
        pack=pack, num_microbatches=num_microbatches, seed=seed, mesh_shape=tuple(mesh_shape),
        objective=task_objective(loss_fn_factory), init_checkpoint=init_checkpoint,
        log_every=log_every, eval_every=eval_every, eval_steps=eval_steps,
        eval_split=eval_split, checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints, async_checkpoints=async_checkpoints,
        allow_changed_settings=allow_changed_settings, summary_dir=summary_dir,
        summaries=summaries)


def optimizer_from_gin(train_steps: int) -> optimizers.BuiltOptimizer:
    """The optimizer of a `train` run: `make_schedule.*` / `make_optimizer.*` read from gin
    here, at the entry point's edge (the library's `build_optimizer` reads no gin), and
    recorded for the checkpoint fingerprint."""
    return optimizers.build_optimizer(
        train_steps, schedule=gin_utils.configured_arguments(optimizers.make_schedule),
        optimizer=gin_utils.configured_arguments(optimizers.make_optimizer))


def main() -> None:
    gin_utils.run_main(train)

