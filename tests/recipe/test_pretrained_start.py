"""The recipe's pretrained-start settings reach its stages: `init_checkpoint` the two SSFT
stages' `train_loop`, `prepend_bos` every `infer` and `score` call, `terse_task = None` skips
the terse stage; at their defaults no stage's settings (hence fingerprint) change."""

import dataclasses
import json
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
    # The evaluator stages too: their rows start with the BOS their scoring puts first.
    assert with_bos == {"train_samples", *(f"test_{g}" for g in paper.GENERATORS),
                        "scores_classification", "scores_margin", "scores_mixture",
                        "evaluator_classification", "evaluator_margin", "evaluator_mixture",
                        "joint"}


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
        s = gin.get_configurable(RecipeSettings)()
        assert (s.init_checkpoint, s.prepend_bos, s.terse_task) == (
            "pretrained:gemma3_270m", True, None)
        assert (s.generation_task, s.eval_task) == ("math_sft_bos", "math_eval")
        assert dataclasses.asdict(s.model_config)["vocab_size"] == 262144
    finally:
        gin.clear_config()


@pytest.mark.parametrize("prepend_bos", [False, True])
def test_each_evaluator_is_trained_and_scored_with_one_max_length_and_bos(
        monkeypatch, tmp_path, train_calls, prepend_bos):
    """What the recipe registers each evaluator task with (max_length, bos_id) is what it
    scores that evaluator with (max_prompt_length, prepend_bos: `score` takes the
    vocabulary's BOS for an evaluator checkpoint, which `paper._bos_id` names)."""
    import mathft_jax.score
    from mathft_jax import formats
    from mathft_jax.data.synthetic import generate_problem
    from mathft_jax.evaluator import tasks as evaluator_tasks
    registered, scored = {}, {}
    monkeypatch.setattr(paper, "_bos_id", lambda s: 7 if s.prepend_bos else None)
    monkeypatch.setattr(evaluator_tasks, "register_evaluator_task",
                        lambda **kw: registered.setdefault(kw["kind"], kw) and kw["name"])
    monkeypatch.setattr(mathft_jax.score, "score", lambda **kw: scored.update(
        {kw["checkpoint"]: kw}) or {"candidates_per_second": 0})
    samples = tmp_path / "train_samples"
    samples.mkdir()
    p = generate_problem(seed=0, split="train", index=0, levels=(1,))
    (samples / paper.CANDIDATES).write_bytes(formats.to_jsonl([formats.candidate_row(
        problem_id=p.problem_id, sample_index=n, decoding="sample", text=text, logprob=-1.0,
        num_tokens=1, finish_reason="eos", checkpoint="c", sampling={"name": "sample"},
        gold_answer=p.answer, level=p.level, subject=p.subject, problem=p.problem)
        for n, text in enumerate((p.solution, p.corrupted_solution))]))
    stages = _stages(prepend_bos=prepend_bos, sequence_length=96)
    folders = {n: str(tmp_path / n) for n in ("sft_detailed", "test_sft_detailed",
                                              "evaluator_classification", "evaluator_margin")}
    folders["train_samples"] = str(samples)
    for built in ("graded_train_samples", paper.EXAMPLES_STAGE):  # real, as finished stages
        folders[built] = str(tmp_path / built)
        (tmp_path / built).mkdir()
        outputs = stages[built].run(folders[built], folders)
        (tmp_path / built / "manifest.json").write_text(json.dumps({
            "version": 1, "fingerprint": "f", "complete": True, "outputs": outputs}))
    for loss, kind in (("classification", "classification"), ("margin", "pair")):
        stages[f"evaluator_{loss}"].run(str(tmp_path / f"e_{loss}"), folders)
        stages[f"scores_{loss}"].run(str(tmp_path / f"s_{loss}"), folders)
        task, score = registered[kind], scored[folders[f"evaluator_{loss}"]]
        assert task["max_length"] == score["max_prompt_length"] == (
            95 if kind == "classification" else 96)
        assert task["bos_id"] == (7 if prepend_bos else None)
        assert score["prepend_bos"] is prepend_bos
