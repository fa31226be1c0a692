"""The evaluator's training objective: its losses on rows laid out by the evaluator task's kind.

Evaluator tasks (`evaluator.tasks.register_evaluator_task`) have their own features and
lengths: a pair task's `chosen` / `rejected` become one row with two segments
(`pairs.PairFeatureConverter`, so a pair cannot be split), a steps task's and a tokens task's
rows carry their own weights (`steps`, `verifier`), and a classification task gives the prompt
all but the one label slot. Any other task (a generation task, the joint mixture) keeps the
generator's layout (`training.objective`), so `task_objective(loss)` fits every task a stage
may train on:

    train_loop(..., objective=task_objective(make_evaluator_loss))
"""

from __future__ import annotations

from typing import Optional

import seqio

from mathft_jax.evaluator import tasks as evaluator_tasks
from mathft_jax.evaluator.pairs import PAIR_FEATURES, PairFeatureConverter
from mathft_jax.evaluator.steps import STEP_FEATURES, StepFeatureConverter
from mathft_jax.evaluator.verifier import TOKEN_FEATURES, TokenFeatureConverter
from mathft_jax.training.losses import make_sft_loss
from mathft_jax.training.objective import (LossFnFactory, Objective, Task, decoder_converter,
                                           prefix_lm_lengths)


def feature_converter(task: Task, pack: bool) -> seqio.FeatureConverter:
    """The converter of a task's rows, picked by its features: pairs, steps, tokens, else
    SeqIO's decoder converter."""
    features = set(task.output_features)
    if set(PAIR_FEATURES) <= features:
        return PairFeatureConverter()
    if set(STEP_FEATURES) <= features:
        return StepFeatureConverter()
    if set(TOKEN_FEATURES) <= features:
        return TokenFeatureConverter()
    return decoder_converter(task, pack)


def feature_lengths(task: Task, sequence_length: int,
                    inputs_length: Optional[int] = None) -> dict[str, int]:
    """An evaluator task's own lengths (`evaluator.tasks.feature_lengths`), else the
    generator's."""
    lengths = evaluator_tasks.feature_lengths(task.name, sequence_length, inputs_length)
    return lengths if lengths is not None else prefix_lm_lengths(task, sequence_length,
                                                                 inputs_length)


def task_objective(loss_fn_factory: LossFnFactory = make_sft_loss) -> Objective:
    """`loss_fn_factory` on rows laid out as the task needs (see the module docstring)."""
    return Objective(loss_fn_factory=loss_fn_factory, feature_converter=feature_converter,
                     feature_lengths=feature_lengths)
