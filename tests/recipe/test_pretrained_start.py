"""The recipe's pretrained-start settings reach its stages: `init_checkpoint` the two SSFT
stages' `train_loop`, `prepend_bos` every `infer` and `score` call, `terse_task = None` skips
the terse stage; at their defaults no stage's settings (hence fingerprint) change."""

import dataclasses
import types
from pathlib import Path

import pytest

from mathft_jax.recipe import paper
from mathft_jax.recipe.settings import RecipeSettings
from tests.training.tiny_run import CONFIG

REPO = Path(__file__).resolve().parents[2]
NEW_KEYS = {"init_checkpoint", "prepend_bos"}


def _stages(**kw):
    return {st.name: st for st in paper.stages(RecipeSettings(model_config=CONFIG, **kw),
                                               lambda *a: {})}


def test_defaults_add_no_stage_settings():
    for stage in _stages().values():
        assert not NEW_KEYS & set(stage.settings), stage.name


def test_new_settings_appear_only_where_they_act():
    stages = _stages(init_checkpoint="pretrained:gemma3_270m", prepend_bos=True)
    with_init = {n for n, st in stages.items() if "init_checkpoint" in st.settings}
    assert with_init == {"sft_detailed", "sft_terse"}
    assert stages["sft_detailed"].settings["init_checkpoint"] == "pretrained:gemma3_270m"
    with_bos = {n for n, st in stages.items() if st.settings.get("prepend_bos")}
    assert with_bos == {"train_samples", *(f"test_{g}" for g in paper.GENERATORS),
                        "scores_classification", "scores_margin", "scores_mixture"}


@pytest.fixture
def train_calls(monkeypatch):
    from mathft_jax.training import trainer
    calls = []

    def fake_train_loop(**kw):
        calls.append(kw)
        return types.SimpleNamespace(preempted=False, train_metrics={}, step=kw["train_steps"])
    monkeypatch.setattr(trainer, "train_loop", fake_train_loop)
    return calls


def test_init_checkpoint_starts_the_ssft_stages_only(train_calls, tmp_path):
    stages = _stages(init_checkpoint="pretrained:fake")
    inputs = {"sft_detailed": str(tmp_path / "sft_detailed")}
    stages["sft_detailed"].run(str(tmp_path / "a"), {})
    stages["sft_terse"].run(str(tmp_path / "b"), {})
    stages["control"].run(str(tmp_path / "c"), inputs)
    assert [c["init_checkpoint"] for c in train_calls] == [
        "pretrained:fake", "pretrained:fake", inputs["sft_detailed"]]
    train_calls.clear()
    _stages()["sft_detailed"].run(str(tmp_path / "d"), {})
    assert train_calls[0]["init_checkpoint"] is None


def test_no_terse_task_skips_the_terse_stage(train_calls, tmp_path):
    stages = _stages(terse_task=None)
    out = stages["sft_terse"].run(str(tmp_path / "t"), {})
    assert "terse_task = None" in out["skipped"] and not train_calls


@pytest.mark.parametrize("prepend_bos", [False, True])
def test_prepend_bos_reaches_infer_and_score(monkeypatch, tmp_path, prepend_bos):
    import mathft_jax.infer
    import mathft_jax.score
    seen = {}
    monkeypatch.setattr(mathft_jax.infer, "infer", lambda **kw: seen.update(infer=kw) or {
        "generated_tokens": 0, "tokens_per_second": 0})
    monkeypatch.setattr(mathft_jax.score, "score", lambda **kw: seen.update(score=kw) or {
        "candidates_per_second": 0})
    stages = _stages(prepend_bos=prepend_bos)
    folders = {n: str(tmp_path / n) for n in ("sft_detailed", "evaluator_margin",
                                              "test_sft_detailed")}
    stages["test_sft_detailed"].run(str(tmp_path / "x"), folders)
    stages["scores_margin"].run(str(tmp_path / "y"), folders)
    assert seen["infer"]["prepend_bos"] is prepend_bos
    assert seen["score"]["prepend_bos"] is prepend_bos


def test_gin_config_binds_a_pretrained_math_recipe():
    import gin
    from mathft_jax.recipe import __main__ as recipe_main  # noqa: F401 (registers `recipe`)
    gin.clear_config()
    gin.add_config_file_search_path(str(REPO))
    try:
        gin.parse_config_files_and_bindings([str(REPO / "gin_configs/recipe/math_gemma3_270m.gin")],
                                            ["RUN_DIR = 'unused'"])
        s = RecipeSettings()
        assert (s.init_checkpoint, s.prepend_bos, s.terse_task) == (
            "pretrained:gemma3_270m", True, None)
        assert (s.generation_task, s.eval_task) == ("math_sft_bos", "math_eval")
        assert dataclasses.asdict(s.model_config)["vocab_size"] == 262144
    finally:
        gin.clear_config()
