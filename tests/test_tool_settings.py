"""Each tool's settings are one frozen dataclass, read from gin only on its command line
(issue 26): `run_<tool>(<Tool>Settings(...))` is gin-free, `gin_utils.run_tool` builds the
settings from the run's gin files and bindings and hands them over."""

from __future__ import annotations

import dataclasses

import gin
import pytest

from mathft_jax import evaluate, export, gin_utils, infer, score, train
from mathft_jax.decoding.sampling import Sampling
from mathft_jax.errors import ConfigError
from mathft_jax.training import losses
from tests import kit

TOOLS = {"train": train.TrainSettings, "infer": infer.InferSettings,
         "score": score.ScoreSettings, "evaluate": evaluate.EvaluateSettings,
         "export": export.ExportSettings}
REQUIRED = {"train": {"model_config", "model_dir", "mixture_or_task_name", "train_steps"},
            "infer": {"model_config", "checkpoint", "mixture_or_task_name", "output_file"},
            "score": {"model_config", "checkpoint", "candidates_file", "output_file",
                      "like_task"},
            "evaluate": {"output_dir"}, "export": {"output_dir"}}
INFER_FLAGS = ["--gin_file=gin_configs/models/tiny.gin", "--gin_file=gin_configs/runs/infer.gin",
               "--gin.CHECKPOINT='random_init'", "--gin.MIXTURE_OR_TASK_NAME='synthetic_eval'",
               "--gin.OUTPUT_FILE='out/candidates.jsonl'"]


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def _run_tool(name: str, argv: list[str], run=lambda settings: settings):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(kit.REPO)
        return gin_utils.run_tool(name, TOOLS[name], run, argv)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_settings_are_frozen_and_their_required_fields_have_no_default(name):
    fields = dataclasses.fields(TOOLS[name])
    assert {f.name for f in fields if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING} == REQUIRED[name]
    settings = TOOLS[name](**{f: f"<{f}>" for f in REQUIRED[name]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, fields[0].name, None)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_a_gin_binding_reaches_the_command_line_not_a_direct_construction(name):
    field = {"train": "seed", "infer": "seed", "score": "batch_size",
             "evaluate": "seed", "export": "dtype"}[name]
    value = "bfloat16" if name == "export" else 7
    gin.bind_parameter(f"{name}.{field}", value)
    required = {f: f"<{f}>" for f in REQUIRED[name]}
    direct = TOOLS[name](**required)
    bound = gin.get_configurable(TOOLS[name])(**required)
    assert getattr(bound, field) == value != getattr(direct, field)
    assert type(bound) is TOOLS[name]


@pytest.mark.parametrize("module", [infer, score, export], ids=lambda m: m.__name__)
def test_the_keyword_form_builds_the_settings_and_runs_them(module, monkeypatch):
    name = module.__name__.rsplit(".", 1)[1]
    seen = []
    monkeypatch.setattr(module, f"run_{name}", seen.append)
    required = {f: f"<{f}>" for f in REQUIRED[name]}
    getattr(module, name)(**required)
    assert seen == [TOOLS[name](**required)]
    with pytest.raises(TypeError, match="no_such_setting"):
        getattr(module, name)(**required, no_such_setting=1)


def test_evaluate_keeps_its_two_positional_arguments(monkeypatch):
    seen = []
    monkeypatch.setattr(evaluate, "run_evaluate", seen.append)
    evaluate.evaluate("c.jsonl", "out", seed=3)
    assert seen == [evaluate.EvaluateSettings(candidates_file="c.jsonl", output_dir="out",
                                              seed=3)]
    with pytest.raises(TypeError, match="needs output_dir"):
        evaluate.evaluate("c.jsonl")


def test_run_tool_builds_infer_settings_from_the_run_files():
    settings = _run_tool("infer", INFER_FLAGS + ["--gin.NUM_SAMPLES=4", "--gin.TEMPERATURE=0.5"])
    assert isinstance(settings, infer.InferSettings)
    assert (settings.checkpoint, settings.mixture_or_task_name, settings.output_file) == (
        "random_init", "synthetic_eval", "out/candidates.jsonl")
    assert settings.num_samples == 4 and settings.sampling == Sampling(temperature=0.5)
    assert settings.model_config.num_layers == 2  # gin_configs/models/tiny.gin


def test_check_required_names_every_unbound_required_field():
    with pytest.raises(ConfigError, match="missing required gin binding"):
        gin_utils.check_required(infer.InferSettings, "infer")
    try:
        gin.parse_config("infer.checkpoint = 'random_init'")
        with pytest.raises(ConfigError) as caught:
            gin_utils.check_required(infer.InferSettings, "infer")
    finally:
        gin.clear_config()
    assert str(caught.value).startswith(
        "missing required gin binding(s) for infer: infer.model_config, "
        "infer.mixture_or_task_name, infer.output_file (")
    assert "infer.checkpoint" not in str(caught.value)


def test_train_completes_its_settings_from_the_optimizer_and_loss_bindings():
    flags = ["--gin_file=gin_configs/models/tiny.gin", "--gin_file=gin_configs/runs/sft.gin",
             "--gin.MODEL_DIR='runs/x'", "--gin.MIXTURE_OR_TASK_NAME='synthetic_sft'",
             "--gin.TRAIN_STEPS=10", "--gin.LEARNING_RATE=0.25",
             "--gin.make_optimizer.clip_norm=0.5", "--gin.train.loss_fn_factory=None"]
    settings = _run_tool("train", flags, train.completed_from_gin)
    assert settings.train_steps == 10 and settings.model_dir == "runs/x"
    assert settings.schedule["peak_value"] == 0.25 and settings.optimizer["clip_norm"] == 0.5
    assert settings.schedule["warmup_steps"] == 100  # sft.gin's WARMUP_STEPS
    # Unbound, the loss is make_sft_loss as gin configures it (make_sft_loss.z_loss applies).
    assert settings.loss_fn_factory is gin.get_configurable(losses.make_sft_loss)
    # The plain settings (no edge) build the library's defaults: make_sft_loss unbound.
    plain = train.TrainSettings(model_config=None, model_dir="d", mixture_or_task_name="t",
                                train_steps=1)
    assert plain.schedule is plain.optimizer is plain.loss_fn_factory is None
