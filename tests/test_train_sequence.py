"""The multi-task gin experiments build the stages they document (the trainer is faked), and
a finished stage whose settings changed is refused."""

import types
from pathlib import Path

import gin
import pytest

from mathft_jax import train_sequence as ts
from mathft_jax.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "gin_configs" / "experiments"


@pytest.fixture()
def fake_trainer(monkeypatch):
    from mathft_jax.training import trainer
    calls = []

    def fake(**kw):
        calls.append((Path(kw["model_dir"]).name, kw["mixture_or_task_name"], kw["train_steps"],
                      kw["objective"].name, kw["init_checkpoint"]))
        return types.SimpleNamespace(preempted=False, train_metrics={}, step=kw["train_steps"])
    monkeypatch.setattr(trainer, "train_loop", fake)
    yield calls
    gin.clear_config()


def _run(gin_file, tmp_path, **macros):
    gin.clear_config()
    bindings = [f"MODEL_DIR = '{tmp_path / 'run'}'"] + [f"{k} = {v!r}" for k, v in macros.items()]
    with gin.unlock_config():
        gin.parse_config_files_and_bindings([str(EXPERIMENTS / gin_file)], bindings,
                                            finalize_config=False)
    return ts.train_sequence()


@pytest.mark.parametrize("gin_file,stages", [
    ("synthetic_multitask.gin", [("0_generator", "synthetic_sft", 300, "make_sft_loss"),
                                 ("1_evaluator", "synthetic_evaluator_pairs", 100,
                                  "make_evaluator_loss"),
                                 ("2_generator_again", "synthetic_sft", 100, "make_sft_loss")]),
    ("synthetic_multitask_control.gin", [("0_generator", "synthetic_sft", 300, "make_sft_loss"),
                                         ("1_generator_again", "synthetic_sft", 100,
                                          "make_sft_loss")]),
    ("synthetic_joint.gin", [("0_joint", "synthetic_generation_and_evaluation", 500,
                              "make_sft_loss")]),
])
def test_experiment_stages(fake_trainer, tmp_path, gin_file, stages):
    candidates = tmp_path / "c.jsonl"
    candidates.write_text("")
    macros = {} if "control" in gin_file else {"EVALUATOR_CANDIDATES": str(candidates)}
    _run(gin_file, tmp_path, **macros)
    assert [c[:4] for c in fake_trainer] == stages
    # Each stage starts from the one before.
    assert fake_trainer[0][4] is None
    for before, after in zip(fake_trainer, fake_trainer[1:]):
        assert after[4] == str(tmp_path / "run" / before[0])
    # A rerun skips every finished stage.
    fake_trainer.clear()
    _run(gin_file, tmp_path, **macros)
    assert fake_trainer == []


def test_changed_settings_of_a_finished_stage_are_refused(fake_trainer, tmp_path):
    _run("synthetic_multitask_control.gin", tmp_path)
    with pytest.raises(ConfigError, match="train_steps: 300 -> 301"):
        _run("synthetic_multitask_control.gin", tmp_path, GENERATOR_STEPS=301)
