"""The multi-task gin experiments build the stages they document (the trainer is faked), and
a rerun after a change retrains exactly the stages whose settings it changed and those after
them (the recipe's one policy), whether the change is a stage's own setting or a gin binding
the stage reads (optimizer, loss, task option)."""

import types
from pathlib import Path

import gin
import pytest

from mathft_jax import gin_utils
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


def _run(gin_file, tmp_path, extra_bindings=(), **macros):
    gin.clear_config()
    bindings = ([f"MODEL_DIR = '{tmp_path / 'run'}'"] + [f"{k} = {v!r}" for k, v in macros.items()]
                + list(extra_bindings))
    with gin.unlock_config():
        gin.parse_config_files_and_bindings([str(EXPERIMENTS / gin_file)], bindings,
                                            finalize_config=False)
    gin_utils.use_task_options_from_gin()  # as the CLI's `run_main` does
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


@pytest.mark.parametrize("change,retrained", [
    ({"GENERATOR_STEPS": 301}, ["0_generator", "1_generator_again"]),
    ({"SECOND_GENERATOR_STEPS": 101}, ["1_generator_again"]),
    ({"extra_bindings": ["make_optimizer.weight_decay = 0.02"]},
     ["0_generator", "1_generator_again"]),
    ({"extra_bindings": ["tasks.synthetic_task_options.levels = (1, 3)"]},
     ["0_generator", "1_generator_again"]),
])
def test_a_change_retrains_the_stages_it_reaches_and_those_after(fake_trainer, tmp_path,
                                                                  change, retrained):
    _run("synthetic_multitask_control.gin", tmp_path)
    fake_trainer.clear()
    _run("synthetic_multitask_control.gin", tmp_path, **change)
    assert [c[0] for c in fake_trainer] == retrained
    # The retrained stage starts from the stage before it, not from its own old folder.
    if retrained == ["1_generator_again"]:
        assert fake_trainer[0][4] == str(tmp_path / "run" / "0_generator")


def test_a_loss_setting_retrains_from_the_evaluator_stage_on(fake_trainer, tmp_path):
    candidates = tmp_path / "c.jsonl"
    candidates.write_text("")
    macros = {"EVALUATOR_CANDIDATES": str(candidates)}
    _run("synthetic_multitask.gin", tmp_path, **macros)
    fake_trainer.clear()
    _run("synthetic_multitask.gin", tmp_path, ["make_evaluator_loss.margin = 0.7"], **macros)
    assert [c[0] for c in fake_trainer] == ["1_evaluator", "2_generator_again"]


def test_the_first_stage_records_where_it_starts(fake_trainer, tmp_path):
    from mathft_jax.recipe.runner import read_manifest
    _run("synthetic_multitask_control.gin", tmp_path,
         ["train_sequence.init_checkpoint = '/models/base'"])
    assert fake_trainer[0][4] == "/models/base"
    first = read_manifest(str(tmp_path / "run" / "0_generator"))
    assert first["settings"]["init_checkpoint"] == "/models/base"
    assert first["complete"] and first["settings"]["train_steps"] == 300
    fake_trainer.clear()
    _run("synthetic_multitask_control.gin", tmp_path,
         ["train_sequence.init_checkpoint = '/models/other'"])
    assert [c[0] for c in fake_trainer] == ["0_generator", "1_generator_again"]


def test_a_model_dir_in_use_is_refused_naming_model_dir(fake_trainer, tmp_path):
    from mathft_jax.training import run_lock
    held = run_lock.RunLock(tmp_path / "run", lock_name=run_lock.RECIPE_LOCK_FILE)
    try:
        with pytest.raises(run_lock.RunInUseError, match=r"or choose another MODEL_DIR\n"):
            _run("synthetic_multitask_control.gin", tmp_path)
    finally:
        held.release()
    assert fake_trainer == []
