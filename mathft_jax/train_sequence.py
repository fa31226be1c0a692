"""Multi-task sequential fine-tuning (Liu et al. 2023, section 3): stages on one model.

    python -m mathft_jax.train_sequence \
        --gin_file=gin_configs/experiments/synthetic_multitask.gin \
        --gin.MODEL_DIR="'runs/multitask'" --gin.EVALUATOR_CANDIDATES="'runs/x/train.jsonl'"

Each `Stage` is one trainer run (its task, steps, learning rate and loss) in
`MODEL_DIR/<i>_<name>`, started from the previous stage's final parameters (`init_checkpoint`;
fresh optimizer state, as a new fine-tuning stage would have). The paper's schedule is
generator (SFT) -> evaluator -> generator; its control, the same generator steps without the
evaluator stage, is a sequence of the two generator stages alone; the joint variant is one
stage on a mixture of the generation and evaluation tasks (see gin_configs/experiments/).

Resuming: a finished stage writes `stage.json` (atomically) and is skipped on a rerun with the
same settings; the stage that was running when the job was killed resumes from its own
checkpoints (the trainer's exact resume); a finished stage whose settings changed is refused
(delete its folder to retrain it and the stages after it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Optional, Sequence

import gin

from mathft_jax.atomic_files import atomic_write_json
from mathft_jax.file_paths import as_path
from mathft_jax.errors import ConfigError
from mathft_jax.training import optimizers
from mathft_jax.training.losses import make_sft_loss

STAGE_FILE = "stage.json"


@gin.configurable
@dataclasses.dataclass(frozen=True)
class Stage:
    """One training stage. `loss_fn_factory(model_config, task)`: the loss of the stage's
    objective (`evaluator.objective.task_objective`, rows laid out as the task needs)."""

    name: str
    mixture_or_task_name: str
    train_steps: int
    learning_rate: float
    loss_fn_factory: Callable = make_sft_loss
    warmup_steps: int = 0

    def settings(self) -> dict:
        loss = getattr(self.loss_fn_factory, "__name__", repr(self.loss_fn_factory))
        return {"name": self.name, "task": self.mixture_or_task_name,
                "train_steps": self.train_steps, "learning_rate": self.learning_rate,
                "warmup_steps": self.warmup_steps, "loss": loss}


@gin.configurable
def train_sequence(*, model_config=gin.REQUIRED, model_dir: str = gin.REQUIRED,
                   stages: Sequence[Stage] = gin.REQUIRED,
                   init_checkpoint: Optional[str] = None, **train_options) -> list[dict]:
    """Runs `stages` in order (see the module docstring); returns one summary per stage.

    Args:
      model_config: the decoder.
      model_dir: the sequence's folder; stage i trains in `<model_dir>/<i>_<name>`.
      stages: the stages.
      init_checkpoint: where the first stage starts from (None: random init).
      **train_options: the other `trainer.train_loop` arguments shared by every stage
        (batch_size, sequence_length, seed, checkpoint_every, ...).
    """
    if not stages:
        raise ConfigError("train_sequence.stages is empty")
    for stage in stages:
        if stage.train_steps < 1:
            raise ConfigError(f"stage {stage.name!r}: train_steps must be >= 1, got "
                              f"{stage.train_steps}")
    from mathft_jax import distributed, gin_utils
    from mathft_jax.evaluator.objective import task_objective  # heavy (TensorFlow), as is
    from mathft_jax.training import trainer  # the trainer: after the config checks
    distributed.maybe_initialize()
    previous, summaries = init_checkpoint, []
    for i, stage in enumerate(stages):
        stage_dir = os.path.join(model_dir, f"{i}_{stage.name}")
        expected = {**stage.settings(), "init_checkpoint": previous}
        if _finished(stage_dir, expected):
            print(f"== stage {i + 1}/{len(stages)} {stage.name}: done, skipped ({stage_dir})",
                  flush=True)
            summaries.append(expected)
            previous = stage_dir
            continue
        print(f"== stage {i + 1}/{len(stages)} {stage.name}: {stage.train_steps} steps on "
              f"{stage.mixture_or_task_name} -> {stage_dir}", flush=True)
        start = time.time()
        # The other make_schedule.* / make_optimizer.* settings are read from gin here, at
        # the entry point's edge (`build_optimizer` reads no gin).
        built = optimizers.build_optimizer(
            stage.train_steps,
            schedule={**gin_utils.configured_arguments(optimizers.make_schedule),
                      "peak_value": stage.learning_rate, "warmup_steps": stage.warmup_steps},
            optimizer=gin_utils.configured_arguments(optimizers.make_optimizer))
        result = trainer.train_loop(
            model_config=model_config, model_dir=stage_dir,
            mixture_or_task_name=stage.mixture_or_task_name, train_steps=stage.train_steps,
            **built.train_loop_args(),
            objective=task_objective(stage.loss_fn_factory), init_checkpoint=previous,
            **train_options)
        if result.preempted:
            print(f"stage {stage.name} preempted at step {result.step}; rerun to continue",
                  flush=True)
            return summaries
        summary = {**expected, "seconds": round(time.time() - start, 1),
                   "final_metrics": result.train_metrics}
        atomic_write_json(os.path.join(stage_dir, STAGE_FILE), summary)
        summaries.append(summary)
        previous = stage_dir
    return summaries


def _finished(stage_dir: str, expected: dict) -> bool:
    path = os.path.join(stage_dir, STAGE_FILE)
    if not as_path(path).exists():
        return False
    done = json.loads(as_path(path).read_text())
    changed = sorted(k for k in expected if done.get(k) != expected[k])
    if changed:
        raise ConfigError(f"{stage_dir} finished with other settings ("
                          + "; ".join(f"{k}: {done.get(k)!r} -> {expected[k]!r}"
                                      for k in changed)
                          + f"); delete {stage_dir} and the stages after it to retrain")
    return True


if __name__ == "__main__":
    from mathft_jax import gin_utils
    gin_utils.run_main(train_sequence)
