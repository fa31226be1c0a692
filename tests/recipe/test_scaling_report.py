"""The scaling study's report (`recipe/scaling_report.py`) on hand-made stage folders: the
training rows each kind builds, the within-problem AUC of a scores file, every field of
scaling.json, scaling.md line by line, and what the plot draws. No model: the study run end
to end is in test_recipe_quick.py."""

import json
import math
import types

import pytest

from mathft_jax import formats
from mathft_jax.evaluation import ranking
from mathft_jax.recipe import scaling, scaling_report

SIZES = (24, 96)
KINDS = ("classification", "steps")
SETTINGS = types.SimpleNamespace(num_bootstrap=5, seed=3)
TEST_MANIFEST = {"problems": 2, "of_problems": 3, "rows": 8}


def _row(problem: str, index: int, text: str, decoding: str = "sample") -> dict:
    return {"version": 1, "problem_id": problem, "sample_index": index, "decoding": decoding,
            "text": text, "logprob": -1.0 - index, "num_tokens": 3, "finish_reason": "eos",
            "gold_answer": "2", "problem": f"{problem}: 1 + 1?"}


# Training samples. p00: one unique correct text (a duplicate dropped), two incorrect: one
# pair, two classification rows. p01: all correct (the outcome losses skip it). p02: two
# correct, two incorrect: two pairs, four classification rows. Greedy rows are not examples.
P00 = [_row("p00", 0, "$\\boxed{2}$"), _row("p00", 1, "$\\boxed{2}$"),
       _row("p00", 2, "$\\boxed{3}$"), _row("p00", 3, "$\\boxed{4}$")]
P01 = [_row("p01", 0, "$\\boxed{2}$"), _row("p01", 1, "so $\\boxed{2}$")]
P02 = [_row("p02", 0, "$\\boxed{2}$"), _row("p02", 1, "thus $\\boxed{2}$"),
       _row("p02", 2, "$\\boxed{5}$"), _row("p02", 3, "$\\boxed{6}$")]
GREEDY = [_row("p00", 0, "$\\boxed{9}$", "greedy")]

# Test samples: t00 right, right, wrong; t01 right, wrong, wrong; (the filter kept both).
TEST = ([_row("t00", 0, "$\\boxed{2}$"), _row("t00", 1, "so $\\boxed{2}$"),
         _row("t00", 2, "$\\boxed{3}$"), _row("t01", 0, "$\\boxed{2}$"),
         _row("t01", 1, "$\\boxed{5}$"), _row("t01", 2, "$\\boxed{7}$")]
        + [_row("t00", 0, "$\\boxed{3}$", "greedy"), _row("t01", 0, "$\\boxed{2}$", "greedy")])
LABELS = [True, True, False, True, False, False]
GROUPS = ["t00"] * 3 + ["t01"] * 3
# Scores of the six sampled test rows, with the per-problem AUCs by hand:
HALF_AND_ONE = (.9, .2, .5, .8, .1, .3)   # t00: .9 > .5, .2 < .5 -> 1/2; t01: 1 -> mean 3/4
ONE = (.9, .8, .1, .6, .1, .2)            # 1 and 1
ZERO = (.1, .2, .9, .1, .5, .6)           # 0 and 0
HALF = (.4, .6, .5, .5, .4, .6)           # 1/2 and 1/2


def _write_candidates(folder, rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "candidates.jsonl").write_bytes(formats.to_jsonl(rows))


def _write_scores(folder, scores, evaluator: str = "e") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [formats.score_row(problem_id=g, sample_index=i % 3, score=s, positive_logprob=0.0,
                              negative_logprob=0.0, evaluator=evaluator)
            for i, (g, s) in enumerate(zip(GROUPS, scores))]
    (folder / "scores.jsonl").write_bytes(formats.to_jsonl(rows))


def _write_manifest(folder, outputs, seconds: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"version": 1, "fingerprint": "f", "complete": True, "outputs": outputs,
         "seconds": seconds}))


def _run_folder(tmp_path) -> dict:
    """The report stage's inputs: the test filter, two nested subsets, four evaluators (steps
    at 24 skipped, without a manifest of its training stage), their scores, the baselines."""
    _write_candidates(tmp_path / "scaling_test", TEST)
    _write_manifest(tmp_path / "scaling_test", TEST_MANIFEST, 1.5)
    _write_candidates(tmp_path / "subset_24", P00 + P01 + GREEDY)
    _write_manifest(tmp_path / "subset_24", {"examples": 24, "problems": 12}, 2.5)
    _write_candidates(tmp_path / "subset_96", P00 + P01 + P02)
    _write_manifest(tmp_path / "subset_96", {"examples": 96, "problems": 40}, 3.5)
    _write_manifest(tmp_path / "scaling_classification_24", {"steps": 3}, 10.0)
    _write_manifest(tmp_path / "scaling_classification_96", {"steps": 12}, 20.0)
    _write_manifest(tmp_path / "scaling_steps_96", {"steps": 13}, 30.0)
    (tmp_path / "scaling_steps_24").mkdir()
    _write_scores(tmp_path / "scaling_classification_24_scores", HALF_AND_ONE)
    _write_manifest(tmp_path / "scaling_classification_24_scores", {"rows": 6}, 4.0)
    _write_scores(tmp_path / "scaling_classification_96_scores", ONE)
    _write_manifest(tmp_path / "scaling_classification_96_scores", {"rows": 6}, 5.0)
    _write_scores(tmp_path / "scaling_steps_96_scores", ZERO)
    _write_manifest(tmp_path / "scaling_steps_96_scores", {"rows": 6}, 6.0)
    _write_manifest(tmp_path / "scaling_steps_24_scores", {"skipped": "no step labels"}, 0.5)
    _write_scores(tmp_path / "scores_likelihood", HALF)
    _write_scores(tmp_path / "scores_likelihood_per_token", ZERO)
    _write_manifest(tmp_path / "train_samples", {"rows": 20}, 7.0)
    names = ["scaling_test", "subset_24", "subset_96", "scaling_classification_24",
             "scaling_classification_96", "scaling_steps_24", "scaling_steps_96",
             "scaling_classification_24_scores", "scaling_classification_96_scores",
             "scaling_steps_24_scores", "scaling_steps_96_scores", "scores_likelihood",
             "scores_likelihood_per_token", "train_samples"]
    return {name: str(tmp_path / name) for name in names}


def _ci(scores, num_bootstrap: int, seed: int) -> list:
    """The bootstrap interval over the two test problems (`ranking`'s own, tested there)."""
    return ranking.within_problem_auc(scores, LABELS, GROUPS, num_bootstrap, seed)["ci95"]


def _expected_report() -> dict:
    stat = dict(skipped=None, test_problems=2)
    return {
        "version": 1, "sizes": [24, 96], "kinds": ["classification", "steps"],
        "test_problems": TEST_MANIFEST,
        "cells": [
            {"kind": "classification", "size": 24, "train_problems": 12, "rows": 2, "steps": 3,
             "auc": 0.75, "ci95": _ci(HALF_AND_ONE, 5, 3), **stat},
            {"kind": "steps", "size": 24, "train_problems": 12, "rows": 5, "steps": None,
             "skipped": "no step labels"},
            {"kind": "classification", "size": 96, "train_problems": 40, "rows": 6,
             "steps": 12, "auc": 1.0, "ci95": [1.0, 1.0], **stat},
            {"kind": "steps", "size": 96, "train_problems": 40, "rows": 9, "steps": 13,
             "auc": 0.0, "ci95": [0.0, 0.0], **stat}],
        "baselines": [
            {"label": "own likelihood (total, untrained)", "auc": 0.5, "ci95": [0.5, 0.5],
             "test_problems": 2},
            {"label": "own likelihood (per token, untrained)", "auc": 0.0, "ci95": [0.0, 0.0],
             "test_problems": 2}],
        "stages": {"scaling_test": 1.5, "subset_24": 2.5, "subset_96": 3.5,
                   "scaling_classification_24": 10.0, "scaling_classification_96": 20.0,
                   "scaling_steps_24": None, "scaling_steps_96": 30.0,
                   "scaling_classification_24_scores": 4.0,
                   "scaling_classification_96_scores": 5.0, "scaling_steps_24_scores": 0.5,
                   "scaling_steps_96_scores": 6.0, "scores_likelihood": None,
                   "scores_likelihood_per_token": None, "train_samples": 7.0}}


@pytest.mark.parametrize("kind, rows", [("classification", 6), ("margin", 3), ("mixture", 3),
                                        ("steps", 9), ("likelihood", 9)])
def test_training_rows_by_kind(tmp_path, kind, rows):
    # classification rows 2 + 4, pairs 1 + 2; every unique sample: p00 3, p01 2, p02 4.
    _write_candidates(tmp_path / "s", P00 + P01 + P02 + GREEDY)
    for seed in (0, 1):
        assert scaling_report.training_rows(str(tmp_path / "s" / "candidates.jsonl"), kind,
                                            seed) == rows


def test_within_auc_reads_candidates_and_scores_and_passes_the_bootstrap(tmp_path):
    _write_candidates(tmp_path / "t", TEST)
    _write_scores(tmp_path / "t", HALF_AND_ONE)
    files = str(tmp_path / "t" / "candidates.jsonl"), str(tmp_path / "t" / "scores.jsonl")
    draws = set()
    for boot, seed in ((5, 3), (7, 0), (1, 1), (1, 2)):
        got = scaling_report.within_auc(*files, boot, seed)
        assert got == {"auc": 0.75, "ci95": _ci(HALF_AND_ONE, boot, seed), "problems": 2}
        draws.add(tuple(got["ci95"]))
    assert len(draws) > 1  # the interval does depend on the draws passed on


def test_build_reads_every_stage_into_the_report(tmp_path):
    inputs = _run_folder(tmp_path)
    study = scaling.ScalingSettings(sizes=SIZES, kinds=KINDS)
    assert scaling_report.build(inputs, SETTINGS, study) == _expected_report()


def test_build_without_a_test_manifest_has_no_test_problem_counts(tmp_path):
    inputs = _run_folder(tmp_path)
    (tmp_path / "scaling_test" / "manifest.json").unlink()
    report = scaling_report.build(inputs, SETTINGS, scaling.ScalingSettings(
        sizes=SIZES, kinds=KINDS))
    assert report["test_problems"] == {} and report["stages"]["scaling_test"] is None


def test_auc_cells():
    cell = {"auc": 0.754, "ci95": [0.5049, 0.996]}
    assert scaling_report._auc(cell) == "0.75 [0.50, 1.00]"
    assert scaling_report._auc({**cell, "skipped": None}) == "0.75 [0.50, 1.00]"
    assert scaling_report._auc({**cell, "skipped": "no rows"}) == "–"
    assert scaling_report._auc({**cell, "auc": None}) == "–"
    assert scaling_report._auc({"skipped": "no rows"}) == "–"
    assert scaling_report._auc({**cell, "auc": math.nan}) == "–"


def test_renamed_calls_problems_test_problems():
    auc = {"auc": 0.5, "ci95": [0.1, 0.9], "problems": 4}
    assert scaling_report._renamed(auc) == {"auc": 0.5, "ci95": [0.1, 0.9], "test_problems": 4}
    assert auc["problems"] == 4  # the argument is left as it was


NOTE = ("Within-problem AUC [bootstrap 95% interval over problems] on the 2 of 3 test problems "
        "with both correct and incorrect samples (0.5: no help to re-ranking). Rows: the "
        "training rows each evaluator built from the examples (the outcome losses keep only "
        "problems with both labels). Baselines: the generator's own probability, untrained "
        "(the same at every size).")


def _report_by_hand() -> dict:
    report = _expected_report()
    report["cells"][0].update(auc=0.754, ci95=[0.5049, 0.996])
    report["baselines"][1].update(auc=math.nan, ci95=[math.nan, math.nan])
    return report


def test_markdown_by_hand():
    assert scaling_report.markdown(_report_by_hand()) == "\n".join([
        "# Evaluator data scaling",
        "",
        "| training examples (problems) | outcome labels (classification loss) "
        "| step labels (step evaluator) |",
        "|---|---:|---:|",
        "| 24 (12) | 0.75 [0.50, 1.00] (2 rows, 3 steps) | – (5 rows, 0 steps) |",
        "| 96 (40) | 1.00 [1.00, 1.00] (6 rows, 12 steps) | 0.00 [0.00, 0.00] (9 rows, 13 steps) |",
        "| own likelihood (total, untrained) | 0.50 [0.50, 0.50] | 0.50 [0.50, 0.50] |",
        "| own likelihood (per token, untrained) | – | – |",
        "",
        NOTE,
        "",
        "step labels (step evaluator) at 24: not trained (no step labels).",
    ]) + "\n"


def test_markdown_of_one_kind_and_every_label():
    cells = [{"kind": kind, "size": 8, "train_problems": 2, "rows": 1, "steps": 4,
              "skipped": None, "auc": 0.5, "ci95": [0.25, 0.75], "test_problems": 2}
             for kind in scaling.KINDS]
    report = {"sizes": [8], "kinds": ["margin"], "cells": cells[1:2], "baselines": [],
              "test_problems": {"problems": 1, "of_problems": 5}}
    lines = scaling_report.markdown(report).splitlines()
    assert lines[2:5] == ["| training examples (problems) | outcome labels (margin loss) |",
                          "|---|---:|", "| 8 (2) | 0.50 [0.25, 0.75] (1 rows, 4 steps) |"]
    assert "on the 1 of 5 test problems" in lines[6]
    report.update(kinds=list(scaling.KINDS), cells=cells)
    assert scaling_report.markdown(report).splitlines()[2] == (
        "| training examples (problems) | outcome labels (classification loss) | outcome "
        "labels (margin loss) | outcome labels (mixture loss) | step labels (step evaluator) "
        "| LM loss + token labels (verifier) |")


def test_plot_draws_each_kind_the_baselines_and_chance(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from mathft_jax.evaluation.plots import curve_styles
    made = []
    subplots = plt.subplots

    def recording(*args, **kwargs):
        made.append(subplots(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(plt, "subplots", recording)
    report = _report_by_hand()
    report["cells"][1].update(auc=0.9, ci95=[0.8, 1.0])  # a skipped cell is not drawn
    report["cells"][2].update(auc=math.nan)               # nor a NaN
    report["kinds"].append("margin")                      # nor a kind without cells
    report["baselines"][0].update(ci95=[0.4, 0.6])
    path = tmp_path / "scaling.png"
    scaling_report.plot(report, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig, ax), = made
    assert not plt.fignum_exists(fig.number)
    assert ax.get_xscale() == "log" and list(ax.get_xticks()) == [24, 96]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["24", "96"]
    assert ax.get_xlabel() == "evaluator training examples (sampled solutions)"
    assert ax.get_ylabel() == "within-problem AUC" and ax.get_title() == (
        "Evaluators against training data")
    styles = curve_styles(["classification", "steps", "margin"])
    (classification, steps), = [ax.containers]
    # three kinds: offsets 1.04 ** -1 and 1.04 ** 0 on the log axis
    line, _, (bars,) = classification.lines
    assert list(line.get_xdata()) == pytest.approx([24 / 1.04])
    assert list(line.get_ydata()) == [0.754]
    (segment,) = bars.get_segments()
    assert segment.ravel().tolist() == pytest.approx([24 / 1.04, 0.5049, 24 / 1.04, 0.996])
    assert (line.get_color(), line.get_marker(), line.get_linestyle()) == (
        styles["classification"].color, styles["classification"].marker,
        styles["classification"].linestyle)
    line, _, (bars,) = steps.lines
    assert list(line.get_xdata()) == [96.0] and list(line.get_ydata()) == [0.0]
    assert line.get_color() == styles["steps"].color
    assert [s.tolist() for s in bars.get_segments()] == [[[96.0, 0.0], [96.0, 0.0]]]
    drawn = [c.lines[0] for c in ax.containers] + [l for c in ax.containers for l in c.lines[1]]
    horizontal = [(tuple(l.get_ydata()), l.get_color(), l.get_linestyle(), l.get_label())
                  for l in ax.lines if l not in drawn]
    assert horizontal[0] == ((0.5, 0.5), "black", "--", "own likelihood (total, untrained)")
    assert all(math.isnan(y) for y in horizontal[1][0])  # the NaN baseline's line
    assert horizontal[1][1:] == ("dimgray", ":", "own likelihood (per token, untrained)")
    assert horizontal[2][:2] == ((0.5, 0.5), "lightgray")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "own likelihood (total, untrained)", "own likelihood (per token, untrained)",
        "outcome labels (classification loss)", "step labels (step evaluator)"]
    assert ax.get_legend().get_texts()[0].get_fontsize() == 8  # it sits beside the axes
    band = ax.patches[0].get_path().get_extents(ax.patches[0].get_patch_transform())
    assert (band.y0, band.y1) == pytest.approx((0.4, 0.6))


def test_write_leaves_the_three_files_and_prints_the_table(tmp_path, capsys):
    inputs = _run_folder(tmp_path / "run")
    out = tmp_path / "report"
    out.mkdir()
    study = scaling.ScalingSettings(sizes=SIZES, kinds=KINDS)
    got = scaling_report.write(str(out), inputs, SETTINGS, study)
    assert got == {"report": str(out / "scaling.md"), "plot": str(out / "scaling.png")}
    report = json.loads((out / "scaling.json").read_text())
    assert report == _expected_report()
    text = (out / "scaling.md").read_text()
    assert text == scaling_report.markdown(report)
    assert capsys.readouterr().out == text + "\n"
    assert (out / "scaling.png").read_bytes()[:4] == b"\x89PNG"
