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

The stages run as recipe stages (`recipe.runner`): stage i is the stage `<i>_<name>`, whose
input is stage i-1, with a manifest in its folder. Its fingerprint holds everything that
decides what it trains: the stage's own settings, the decoder, the shared trainer options,
the optimizer and schedule as built (gin's `make_schedule.*` / `make_optimizer.*` included),
the loss's gin-bound arguments, what its task reads (`data.task_reads`) and where the first
stage starts. Resuming follows the recipe's one policy: a finished stage with the same
fingerprint is skipped; the stage that was running when the job was killed continues in its
folder from its own checkpoints (the trainer's exact resume); a stage whose fingerprint
changed starts over, and so does every stage after it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Callable, Optional, Sequence

import gin

from mathft_jax.errors import ConfigError
from mathft_jax.training import optimizers
from mathft_jax.training.losses import make_sft_loss

@gin.configurable
@dataclasses.dataclass(frozen=True)
class Stage:
    """One training stage. `loss_fn_factory(model_config, task)`: the loss of the stage's
    objective (`evaluator.objective.task_objective`, rows laid out as the task needs); None:
    `make_sft_loss` with its gin bindings (`make_sft_loss.z_loss = ...`)."""

    name: str
    mixture_or_task_name: str
    train_steps: int
    learning_rate: float
    loss_fn_factory: Optional[Callable] = None
    warmup_steps: int = 0

    def loss(self) -> Callable:
        """The loss factory: the library reads no gin, so the default is configured here."""
        return self.loss_fn_factory or gin.get_configurable(make_sft_loss)

    def settings(self) -> dict:
        factory = self.loss()
        loss = getattr(factory, "__name__", repr(factory))
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

    Returns:
      Per stage, its settings with "seconds" and "final_metrics" (from its manifest, also
      for a stage skipped as finished).
    """
    if not stages:
        raise ConfigError("train_sequence.stages is empty")
    for stage in stages:
        if stage.train_steps < 1:
            raise ConfigError(f"stage {stage.name!r}: train_steps must be >= 1, got "
                              f"{stage.train_steps}")
    from mathft_jax import distributed
    from mathft_jax.recipe import runner  # imports JAX: after the config checks
    distributed.maybe_initialize()
    names = [f"{i}_{stage.name}" for i, stage in enumerate(stages)]
    recipe_stages = [
        runner.Stage(name, tuple(names[i - 1:i]),
                     _fingerprint_settings(stage, model_config, train_options,
                                           None if i else init_checkpoint),
                     _trainer_run(stage, model_config, train_options,
                                  names[i - 1] if i else None, init_checkpoint))
        for i, (name, stage) in enumerate(zip(names, stages))]
    manifests = runner.run_stages(recipe_stages, model_dir, run_dir_setting="MODEL_DIR")
    return [{**stages[i].settings(), "seconds": manifests[name]["seconds"],
             "final_metrics": manifests[name]["outputs"].get("final_metrics")}
            for i, name in enumerate(names)]


def _built_optimizer(stage: Stage):
    """The stage's optimizer: its learning rate and warm-up, the other `make_schedule.*` /
    `make_optimizer.*` settings read from gin here, at the entry point's edge
    (`build_optimizer` reads no gin)."""
    from mathft_jax import gin_utils
    return optimizers.build_optimizer(
        stage.train_steps,
        schedule={**gin_utils.configured_arguments(optimizers.make_schedule),
                  "peak_value": stage.learning_rate, "warmup_steps": stage.warmup_steps},
        optimizer=gin_utils.configured_arguments(optimizers.make_optimizer))


def _fingerprint_settings(stage: Stage, model_config, train_options: dict,
                          init_checkpoint: Optional[str]) -> dict:
    """Everything that decides what `stage` trains (its recipe fingerprint's settings)."""
    from mathft_jax.data.task_reads import task_identity
    settings = {**stage.settings(), "model_config": dataclasses.asdict(model_config),
                "train_options": train_options,
                "optimizer": _built_optimizer(stage).settings,
                "loss_bindings": _gin_bindings(stage.loss()),
                "task_reads": task_identity(stage.mixture_or_task_name)}
    if init_checkpoint is not None:
        settings["init_checkpoint"] = init_checkpoint
    return json.loads(json.dumps(settings, default=repr))


def _gin_bindings(fn: Callable) -> dict:
    """What gin binds for `fn` (e.g. `make_evaluator_loss.margin`); {} for a plain function."""
    try:
        return gin.get_bindings(fn)
    except ValueError:
        return {}


def _trainer_run(stage: Stage, model_config, train_options: dict, previous: Optional[str],
                 init_checkpoint: Optional[str]):
    """The recipe stage function training `stage` from the previous stage's folder (the
    first stage: from `init_checkpoint`)."""
    def run(folder: str, inputs: dict[str, str]) -> dict:
        from mathft_jax.evaluator.objective import task_objective  # heavy (TensorFlow)
        from mathft_jax.training import trainer
        print(f"  {stage.train_steps} steps on {stage.mixture_or_task_name}", flush=True)
        result = trainer.train_loop(
            model_config=model_config, model_dir=folder,
            mixture_or_task_name=stage.mixture_or_task_name, train_steps=stage.train_steps,
            **_built_optimizer(stage).train_loop_args(),
            objective=task_objective(stage.loss()),
            init_checkpoint=inputs[previous] if previous else init_checkpoint,
            **train_options)
        if result.preempted:
            raise SystemExit(f"{folder}: preempted at step {result.step}; rerun to continue")
        return {"final_metrics": result.train_metrics, "steps": result.step}
    return run

if __name__ == "__main__":
    from mathft_jax import gin_utils
    gin_utils.run_main(train_sequence)
