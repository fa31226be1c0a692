"""The recipe's stage choices: which evaluator the multi-task generator starts from, the joint
mixture as an option, and the settings' checks."""

import dataclasses

import pytest

from mathft_jax.errors import ConfigError
from mathft_jax.recipe import paper
from mathft_jax.recipe.settings import RecipeSettings
from tests.training.tiny_run import CONFIG


def _settings(**kw) -> RecipeSettings:
    return RecipeSettings(model_config=CONFIG, **kw)


def _stages(**kw) -> dict:
    return {st.name: st for st in paper.stages(_settings(**kw), lambda *a: {})}


def test_multitask_starts_from_the_margin_evaluator_by_default_or_from_the_verifier():
    assert _stages()["multitask"].inputs == ("evaluator_margin",)
    from_verifier = _stages(verifier_steps=5, multitask_from="likelihood")
    assert from_verifier["multitask"].inputs == ("evaluator_likelihood",)
    assert "evaluator_margin" in from_verifier  # the paper's evaluator is still trained


def test_without_the_joint_mixture_no_joint_stage_row_or_report_input():
    stages = _stages(joint_mixture=False)
    assert not {"joint", "test_joint", "graded_test_joint", "eval_test_joint"} & set(stages)
    assert "joint" not in stages["report"].inputs
    labels = [label for label, _, _ in paper.rows(_settings(joint_mixture=False))]
    assert "joint mixture" not in labels and "multi-task sequential" in labels
    assert {"joint", "test_joint", "graded_test_joint", "eval_test_joint"} <= set(_stages())


@pytest.mark.parametrize("kw, message", [
    ({"multitask_from": "mixture"},
     "RecipeSettings.multitask_from='mixture': one of 'margin', 'likelihood'"),
    ({"multitask_from": "likelihood"}, "RecipeSettings.multitask_from='likelihood' needs a "
     r"trained verifier \(verifier_steps > 0\)"),
    ({"parallel_stages": 0}, "RecipeSettings.parallel_stages=0: at least 1"),
])
def test_bad_choices_are_one_line_errors(kw, message):
    # A direct call: one line (RecipeSettings is registered with gin, not wrapped, so no
    # "In call to configurable" line is added).
    with pytest.raises(ConfigError, match=f"^{message}$"):
        _settings(**kw)


def test_as_dict_holds_every_field_and_the_model_config_as_a_dict():
    out = _settings(seed=3, pass_ks=(1, 2)).as_dict()
    assert out["seed"] == 3 and out["pass_ks"] == (1, 2) and out["multitask_from"] == "margin"
    assert list(out) == [f.name for f in dataclasses.fields(RecipeSettings)]
    assert isinstance(out["model_config"], dict)
    assert out["model_config"]["vocab_size"] == 320 and out["model_config"]["max_seq_len"] == 64


def test_parallel_stages_change_no_fingerprint():
    one, two = _stages(), _stages(parallel_stages=2)
    assert all(one[n].settings == two[n].settings for n in one)
