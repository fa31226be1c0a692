"""The evaluator data-scaling study's stages (`recipe/scaling.py`): the graph, the nested
training subsets and the test filter. The study run end to end on the toy recipe is in
test_recipe_quick.py (it reuses that module's finished run)."""

import json

import pytest

from mathft_jax import formats
from mathft_jax.errors import ConfigError
from mathft_jax.recipe import runner, scaling
from mathft_jax.recipe.settings import RecipeSettings
from tests.training.tiny_run import CONFIG

SIZES = (24, 96)


def _stages(**kw) -> dict:
    s = RecipeSettings(model_config=CONFIG, train_problems=40, train_samples=6)
    study = scaling.ScalingSettings(sizes=SIZES, min_steps=3, **kw)
    return {st.name: st for st in scaling.stages(s, study, lambda *a: {})}


def _fingerprints(stages: dict) -> dict:
    out = {}

    def of(name):
        if name not in out:
            st = stages.get(name)
            # Stages of the recipe's chain: fixed stand-ins; only the study's graph varies.
            out[name] = ("chain-" + name if st is None else runner.fingerprint(
                st.settings, {n: of(n) for n in st.inputs}))
        return out[name]

    for name in stages:
        of(name)
    return out


def test_each_evaluator_trains_on_its_size_subset_for_its_steps_and_is_scored_on_mixed_tests():
    stages = _stages()
    for size in SIZES:
        assert stages[f"subset_{size}"].inputs == ("train_samples",)
        for kind in ("classification", "steps", "likelihood"):
            trained = stages[scaling.stage_name(kind, size)]
            assert trained.inputs == (f"subset_{size}", "sft_detailed")
            assert trained.settings["steps"] == max(3, -(-size // 8))  # one epoch, batch 8
            assert stages[f"{trained.name}_scores"].inputs == (trained.name, "scaling_test")
    report = stages[scaling.REPORT]
    assert {"scores_likelihood", "scores_likelihood_per_token", "scaling_test"} <= set(
        report.inputs)
    assert all(f"{scaling.stage_name(k, n)}_scores" in report.inputs for k in
               ("classification", "steps", "likelihood") for n in SIZES)


def test_sizes_change_the_training_stages_fingerprints_and_kinds_share_nothing():
    fps = _fingerprints(_stages())
    trained = [fps[scaling.stage_name(k, n)] for k in ("classification", "steps", "likelihood")
               for n in SIZES]
    assert len(set(trained)) == len(trained)


def test_each_stage_s_inputs_settings_and_function(monkeypatch):
    """Every stage of the study by hand, the recipe's stage builders replaced by recorders."""
    monkeypatch.setattr(scaling.paper, "evaluator_stage",
                        lambda s, kind, steps, **kw: ("train", kind, steps, kw))
    monkeypatch.setattr(scaling.paper, "score_stage",
                        lambda s, name, kind, **kw: ("score", name, kind, kw))
    s = RecipeSettings(model_config=CONFIG, train_problems=40, train_samples=6,
                       num_bootstrap=7, seed=5)
    study = scaling.ScalingSettings(sizes=SIZES, kinds=("margin", "likelihood"), min_steps=3)
    reports = []
    stages = {st.name: st for st in scaling.stages(
        s, study, lambda *a: reports.append(a) or {"report": "r"})}
    study_names = ["scaling_test"] + [
        name for size in SIZES for name in [f"subset_{size}"] + [
            f"scaling_{kind}_{size}{end}" for kind in ("margin", "likelihood")
            for end in ("", "_scores")]]
    assert list(stages) == study_names + ["scaling_report"]
    test = stages["scaling_test"]
    assert (test.inputs, test.settings, test.run) == (
        ("test_sft_detailed",), {"keep": "mixed problems"}, scaling._mixed_problems)
    for size, steps in ((24, 3), (96, 12)):  # one epoch of batch 8, at least 3 steps
        assert stages[f"subset_{size}"].settings == {"examples": size}
        for kind in ("margin", "likelihood"):
            trained = stages[f"scaling_{kind}_{size}"]
            assert trained.settings == scaling.paper.evaluator_settings(s, kind, steps)
            assert trained.run == ("train", kind, steps,
                                   {"samples": f"subset_{size}", "tag": f"_{size}"})
            scores = stages[f"scaling_{kind}_{size}_scores"]
            assert scores.settings == scaling.paper.score_settings(s, kind)
            assert scores.run == ("score", trained.name, kind, {"candidates": "scaling_test"})
    report = stages["scaling_report"]
    assert report.inputs == tuple(study_names) + (
        "scores_likelihood", "scores_likelihood_per_token", "train_samples")
    assert report.settings == {"num_bootstrap": 7, "seed": 5, "sizes": [24, 96],
                               "kinds": ["margin", "likelihood"]}
    assert report.run("folder", {"a": "b"}) == {"report": "r"}
    assert reports == [("folder", {"a": "b"}, s, study)]


def test_defaults_and_steps_for():
    study = scaling.ScalingSettings()
    assert (study.sizes, study.kinds, study.epochs, study.min_steps) == (
        (250, 1000, 4000), ("classification", "steps", "likelihood"), 1.0, 50)
    assert study.steps_for(1000, 8) == 125 and study.steps_for(100, 8) == 50
    two = scaling.ScalingSettings(epochs=2.0, min_steps=5)
    assert (two.steps_for(30, 8), two.steps_for(8, 8), two.steps_for(20, 8)) == (8, 5, 5)
    assert scaling.ScalingSettings(sizes=(1, 2), kinds=("mixture",)).sizes == (1, 2)


KINDS_TEXT = "('classification', 'margin', 'mixture', 'steps', 'likelihood')"


@pytest.mark.parametrize("kw, message", [
    ({"sizes": (96, 24)}, "ScalingSettings.sizes=(96, 24): distinct positive sizes, ascending"),
    ({"sizes": ()}, "ScalingSettings.sizes=(): distinct positive sizes, ascending"),
    ({"sizes": (24, 24)}, "ScalingSettings.sizes=(24, 24): distinct positive sizes, ascending"),
    ({"sizes": (0, 24)}, "ScalingSettings.sizes=(0, 24): distinct positive sizes, ascending"),
    ({"kinds": ("outcome",)}, f"ScalingSettings.kinds=('outcome',): from {KINDS_TEXT}"),
    ({"kinds": ("steps", "outcome")},
     f"ScalingSettings.kinds=('steps', 'outcome'): from {KINDS_TEXT}"),
    ({"kinds": ()}, f"ScalingSettings.kinds=(): from {KINDS_TEXT}"),
])
def test_bad_settings_are_one_line_errors(kw, message):
    with pytest.raises(ConfigError) as raised:
        scaling.ScalingSettings(**kw)
    assert str(raised.value).splitlines()[0] == message


def test_a_size_above_the_sampled_training_solutions_is_an_error():
    s = RecipeSettings(model_config=CONFIG, train_problems=10, train_samples=6)
    with pytest.raises(ConfigError) as raised:
        scaling.stages(s, scaling.ScalingSettings(sizes=(24, 96)), lambda *a: {})
    assert str(raised.value) == (
        "ScalingSettings.sizes goes up to 96 examples; the recipe samples 10 training problems "
        "x 6 = 60: raise RecipeSettings.train_problems")
    s = RecipeSettings(model_config=CONFIG, train_problems=16, train_samples=6)
    assert len(scaling.stages(s, scaling.ScalingSettings(sizes=(24, 96)), lambda *a: {})) == 16


def test_the_study_needs_the_likelihood_baselines():
    s = RecipeSettings(model_config=CONFIG, train_problems=40, train_samples=6,
                       likelihood_baselines=False)
    with pytest.raises(ConfigError) as raised:
        scaling.stages(s, scaling.ScalingSettings(sizes=SIZES), lambda *a: {})
    assert str(raised.value) == ("the scaling study compares with the likelihood baselines: "
                                 "RecipeSettings.likelihood_baselines must be True")


def _row(problem: int, index: int, text: str, decoding: str = "sample") -> dict:
    return {"version": 1, "problem_id": f"p{problem:02d}", "sample_index": index,
            "decoding": decoding, "text": text, "logprob": -1.0 - index, "num_tokens": 3,
            "finish_reason": "eos", "gold_answer": "2", "problem": "1 + 1?"}


def _write(folder, rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "candidates.jsonl").write_bytes(formats.to_jsonl(rows))


def test_subsets_are_the_first_n_samples_nested_and_without_greedy_rows(tmp_path):
    rows = [_row(p, i, f"$\\boxed{{{i}}}$") for p in range(5) for i in range(4)]
    rows += [_row(p, 0, "$\\boxed{2}$", "greedy") for p in range(5)]
    _write(tmp_path / "train_samples", rows[::-1])  # order in the file does not matter
    inputs = {"train_samples": str(tmp_path / "train_samples")}
    subsets = {}
    s = RecipeSettings(model_config=CONFIG, train_problems=5, train_samples=4)
    stages = {st.name: st for st in scaling.stages(
        s, scaling.ScalingSettings(sizes=(6, 13)), lambda *a: {})}
    for size in (6, 13):
        out = stages[f"subset_{size}"].run(str(tmp_path / f"s{size}"), inputs)
        got = formats.read_candidates(str(tmp_path / f"s{size}" / "candidates.jsonl"))[0]
        subsets[size] = [(r["problem_id"], r["sample_index"]) for r in got]
        assert len(got) == size and all(r["decoding"] == "sample" for r in got)
        assert out == {"examples": size, "problems": len({p for p, _ in subsets[size]})}
    assert subsets[13][:6] == subsets[6] == [("p00", 0), ("p00", 1), ("p00", 2), ("p00", 3),
                                             ("p01", 0), ("p01", 1)]
    with pytest.raises(ConfigError, match="fewer than 21"):
        scaling._first_samples(21)(str(tmp_path / "s21"), inputs)


def test_the_test_filter_keeps_problems_with_correct_and_incorrect_samples(tmp_path):
    rows = ([_row(0, i, f"$\\boxed{{{2 if i else 3}}}$") for i in range(3)]   # mixed
            + [_row(1, i, "$\\boxed{2}$") for i in range(3)]                    # all right
            + [_row(2, i, "$\\boxed{5}$") for i in range(3)]                    # all wrong
            + [_row(p, 0, "$\\boxed{2}$", "greedy") for p in range(3)])
    _write(tmp_path / "test_sft_detailed", rows)
    out = scaling._mixed_problems(str(tmp_path / "mixed"),
                                  {"test_sft_detailed": str(tmp_path / "test_sft_detailed")})
    kept = formats.read_candidates(str(tmp_path / "mixed" / "candidates.jsonl"))[0]
    assert {r["problem_id"] for r in kept} == {"p00"} and len(kept) == 4
    assert json.loads(json.dumps(out)) == {"problems": 1, "of_problems": 3, "rows": 4}
