"""The evaluator objective picks each task's row layout by its features and its lengths from
the evaluator task registry, else the generator's."""

import types

import seqio

from mathft_jax.evaluator import objective
from mathft_jax.evaluator import tasks as evaluator_tasks
from mathft_jax.evaluator.pairs import PairFeatureConverter
from mathft_jax.evaluator.steps import StepFeatureConverter
from mathft_jax.evaluator.verifier import TokenFeatureConverter
from mathft_jax.training.losses import make_sft_loss

LIKE = "synthetic_sft"


def _task(*features, name="mathft_test_not_an_evaluator_task"):
    return types.SimpleNamespace(name=name, output_features={f: None for f in features})


def test_the_converter_follows_the_features():
    picks = {("chosen", "rejected"): PairFeatureConverter,
             ("chosen", "rejected", "tokens", "token_weights"): PairFeatureConverter,
             ("tokens", "read_targets"): StepFeatureConverter,
             ("tokens", "read_targets", "token_weights"): StepFeatureConverter,
             ("tokens", "token_weights"): TokenFeatureConverter}
    for features, kind in picks.items():
        for pack in (True, False):
            assert type(objective.feature_converter(_task(*features), pack)) is kind, features
    # Any other task (one half of a pair or of a token row included) keeps the decoder's
    # converter, packed as asked.
    for features in [("inputs", "targets"), ("targets",), ("chosen",), ("tokens",)]:
        for pack in (True, False):
            converter = objective.feature_converter(_task(*features), pack)
            assert type(converter) is seqio.DecoderFeatureConverter
            assert converter.pack is pack


def test_lengths_of_other_tasks_are_the_generators():
    assert objective.feature_lengths(_task("inputs", "targets"), 10) == {"inputs": 5,
                                                                         "targets": 5}
    assert objective.feature_lengths(_task("inputs", "targets"), 10, 3) == {"inputs": 3,
                                                                            "targets": 7}
    assert objective.feature_lengths(_task("targets"), 10, 3) == {"targets": 10}


def test_lengths_of_an_evaluator_task_are_its_own(candidates):
    path, _ = candidates
    name = evaluator_tasks.register_evaluator_task(
        name="objective_test_pair", candidates_file=str(path), kind="pair", like_task=LIKE,
        max_length=16)
    task = _task("chosen", "rejected", name=name)
    assert objective.feature_lengths(task, 16) == evaluator_tasks.feature_lengths(
        name, 16, None) == {"chosen": 16, "rejected": 16}
    # A classification task's inputs take the inputs length given (the joint mixture's),
    # else all but the label slot.
    name = evaluator_tasks.register_evaluator_task(
        name="objective_test_classification", candidates_file=str(path),
        kind="classification", like_task=LIKE, max_length=10)
    task = _task("inputs", "targets", name=name)
    assert objective.feature_lengths(task, 16, 12) == {"inputs": 12, "targets": 4}
    assert objective.feature_lengths(task, 16) == {"inputs": 15, "targets": 1}


def test_the_objective_holds_the_loss_and_both_layout_functions():
    def loss(config, task):
        return None

    built = objective.task_objective(loss)
    assert built.loss_fn_factory is loss
    assert built.feature_converter is objective.feature_converter
    assert built.feature_lengths is objective.feature_lengths
    assert objective.task_objective().loss_fn_factory is make_sft_loss
