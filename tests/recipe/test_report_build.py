"""`recipe.table.build`: the report's rows recomputed from each row's own candidates and
scores files, on three hand-graded problems (no model, no stage run).

Per problem (gold; greedy; three samples; the margin evaluator's scores):
  p1 (4): greedy right; samples 4, 5, 5; scores 0.9, 0.1, 0.1
  p2 (7): greedy wrong; samples 2, 2, 2; scores 0.5, 0.5, 0.5
  p3 (9): greedy right; samples 9, 9, 1; scores 0.2, 0.2, 0.9
so Greedy = 2/3, pass@1 = (1/3 + 0 + 2/3) / 3 = 1/3, Maj1@N = [0, 0, 1], Pass@N = 2/3, and the
evaluator's RR.Top2 = [1, 0, 0] (answer 4 in p1, the lone 1 in p3).
"""

import json
import os

import pytest

from mathft_jax import formats
from mathft_jax.evaluation.graded import grade_file
from mathft_jax.models import ModelConfig
from mathft_jax.recipe import table
from mathft_jax.recipe.runner import MANIFEST, MANIFEST_VERSION
from mathft_jax.recipe.settings import RecipeSettings

SETTINGS = RecipeSettings(model_config=ModelConfig(), pass_ks=(1,), maj_ks=(1,), rerank_k=2,
                          num_bootstrap=50)
ROWS = [("SSFT detailed", "test_sft_detailed", None),
        ("SSFT detailed + margin evaluator", "test_sft_detailed", "scores_margin"),
        ("SSFT terse", "test_sft_terse", None)]
PROBLEMS = {"p1": ("4", "4", ["4", "5", "5"], [0.9, 0.1, 0.1]),
            "p2": ("7", "1", ["2", "2", "2"], [0.5, 0.5, 0.5]),
            "p3": ("9", "9", ["9", "9", "1"], [0.2, 0.2, 0.9])}


def _stage(root, name, outputs=None, files=None):
    folder = root / name
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({
        "version": MANIFEST_VERSION, "fingerprint": name, "complete": True, "seconds": 2.5,
        "outputs": outputs or {}}))
    for file_name, text in (files or {}).items():
        (folder / file_name).write_text(text)
    return str(folder)


def _candidates() -> str:
    rows = []
    for pid, (gold, greedy, samples, _) in PROBLEMS.items():
        for decoding, index, answer in ([("greedy", 0, greedy)]
                                        + [("sample", i, a) for i, a in enumerate(samples)]):
            rows.append(formats.candidate_row(
                problem_id=pid, sample_index=index, decoding=decoding,
                text=f"so \\boxed{{{answer}}}", logprob=-1.0, num_tokens=3,
                finish_reason="eos", checkpoint="c", sampling={"name": decoding},
                gold_answer=gold, level="1", subject="s", problem=f"problem {pid}"))
    return "".join(json.dumps(r) + "\n" for r in rows)


def _scores() -> str:
    return "".join(json.dumps(formats.score_row(
        problem_id=pid, sample_index=i, score=s, positive_logprob=-1.0, negative_logprob=-2.0,
        evaluator="margin")) + "\n" for pid, (*_, scores) in PROBLEMS.items()
        for i, s in enumerate(scores))


@pytest.fixture
def inputs(tmp_path):
    auc = {"auc": 0.75, "ci95": [0.5, 1.0], "within_problem": None}
    detailed = _stage(tmp_path, "test_sft_detailed", {"tokens_per_second": 9.0},
                      {"candidates.jsonl": _candidates()})
    graded = _stage(tmp_path, "graded_test_sft_detailed", {"problems": 3})
    grade_file(os.path.join(detailed, "candidates.jsonl"), os.path.join(graded, "graded.jsonl"))
    return {
        "test_sft_detailed": detailed, "graded_test_sft_detailed": graded,
        "test_sft_terse": _stage(tmp_path, "test_sft_terse", {"skipped": "no terse task"}),
        "scores_margin": _stage(tmp_path, "scores_margin", {"candidates_per_second": 4.0},
                                {"scores.jsonl": _scores()}),
        "eval_test_sft_detailed": _stage(tmp_path, "eval_test_sft_detailed", {}, {
            "report.json": json.dumps({"accuracy_vs_n": {"n": [1], "Pass@N": [0.25]}})}),
        "eval_scores_margin": _stage(tmp_path, "eval_scores_margin", {}, {
            "report.json": json.dumps({"evaluator_auc": auc,
                                       "accuracy_vs_n": {"n": [1], "Pass@N": [0.5]}})}),
        "eval_test_sft_terse": _stage(tmp_path, "eval_test_sft_terse",
                                      {"skipped": "test_sft_terse: no terse task"}),
    }


def test_rows_recomputed_from_their_own_files(inputs):
    report = table.build(inputs, SETTINGS, ROWS)
    assert report["version"] == 1 and report["settings"] == SETTINGS.as_dict()
    assert report["columns"] == table.columns(SETTINGS)
    detailed, margin, terse = report["rows"]
    assert [r["label"] for r in report["rows"]] == [label for label, _, _ in ROWS]
    means = {c: cell["mean"] for c, cell in detailed["cells"].items()}
    assert means == pytest.approx({"Greedy": 2 / 3, "pass@1": 1 / 3, "Maj1@N": 1 / 3,
                                   "Pass@N": 2 / 3})  # no RR columns without scores
    assert all(cell["n"] == 3 for cell in detailed["cells"].values())
    assert margin["cells"]["Maj1@N"]["mean"] == pytest.approx(1 / 3)
    assert margin["cells"]["RR.Top2"]["mean"] == pytest.approx(1 / 3)
    assert set(margin["cells"]) == set(table.columns(SETTINGS))
    assert detailed["evaluator_auc"] is None
    assert margin["evaluator_auc"] == {"auc": 0.75, "ci95": [0.5, 1.0], "within_problem": None}
    assert margin["curves_from"] == os.path.join(inputs["eval_scores_margin"], "report.json")
    assert terse == {"label": "SSFT terse", "cells": {}, "evaluator_auc": None,
                     "skipped": "test_sft_terse: no terse task"}


def test_verdicts_and_stages_from_the_same_inputs(inputs):
    report = table.build(inputs, SETTINGS, ROWS)
    f1, f2, f3 = report["verdicts"]
    assert f1["verdict"] == "inconclusive" and f1["why"] == (
        "no results for SSFT terse (skipped stage)")
    # RR.Top2 [1, 0, 0] of the margin row − Maj1@N [0, 0, 1] of SSFT detailed.
    assert (f2["a"], f2["difference"], f2["problems"]) == (
        "SSFT detailed + margin evaluator", 0.0, 3)
    assert f3["why"] == ("no results for multi-task sequential, extra-MLE-steps control "
                         "(skipped stage)")
    assert report["stages"]["test_sft_detailed"] == {"seconds": 2.5, "tokens_per_second": 9.0}
    assert report["stages"]["scores_margin"] == {"seconds": 2.5, "candidates_per_second": 4.0}
    assert list(report["stages"]) == list(inputs)


def test_write_files_report_and_one_plot_per_row_that_ran(inputs, tmp_path, monkeypatch,
                                                          capsys):
    plotted = []
    monkeypatch.setattr(table.plots, "plot_accuracy_vs_n",
                        lambda curves, path, title: plotted.append((curves, path, title)))
    out = tmp_path / "report"
    out.mkdir()
    assert table.write(str(out), inputs, SETTINGS, ROWS) == {
        "report": os.path.join(out, "report.md")}
    report = json.loads((out / "report.json").read_text())
    assert report == json.loads(json.dumps(table.build(inputs, SETTINGS, ROWS)))
    assert (out / "report.md").read_text() == table.markdown(report)
    assert capsys.readouterr().out == table.markdown(report) + "\n"  # also on the console
    assert plotted == [
        ({"n": [1], "Pass@N": [0.25]}, os.path.join(out, "accuracy_vs_n_SSFT_detailed.png"),
         "SSFT detailed"),
        ({"n": [1], "Pass@N": [0.5]},
         os.path.join(out, "accuracy_vs_n_SSFT_detailed_plus_margin_evaluator.png"),
         "SSFT detailed + margin evaluator")]


def test_only_the_primary_host_writes(inputs, tmp_path, monkeypatch):
    from mathft_jax import distributed
    monkeypatch.setattr(distributed, "is_primary_host", lambda: False)
    out = tmp_path / "report"
    out.mkdir()
    assert table.write(str(out), inputs, SETTINGS, ROWS) == {
        "report": os.path.join(out, "report.md")}
    assert list(out.iterdir()) == []
