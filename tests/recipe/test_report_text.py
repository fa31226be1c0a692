"""The recipe report's text (`recipe.table.markdown`) and stage summaries, on a hand-made
report: what a reader of report.md sees, cell by cell, for every kind of row and verdict."""

import json

from mathft_jax.recipe import table
from mathft_jax.recipe.runner import MANIFEST, MANIFEST_VERSION

REPORT = {
    "columns": ["Greedy", "Maj1@N"],
    "rows": [
        {"label": "SSFT detailed",
         "cells": {"Greedy": {"mean": 0.25, "ci95": [0.125, 0.5]},
                   "Maj1@N": {"mean": 0.5, "ci95": [0.25, 0.75]}},
         "evaluator_auc": {"auc": 0.6, "ci95": [0.5, 0.75],
                           "within_problem": {"auc": 0.55, "ci95": [0.25, 0.9]}}},
        {"label": "SSFT terse", "cells": {"Greedy": {"mean": 0.75, "ci95": [0.5, 1.0]}},
         "evaluator_auc": {"auc": 0.3, "ci95": [0.2, 0.4], "within_problem": None}},
        {"label": "joint mixture", "cells": {}, "evaluator_auc": None,
         "skipped": "train_samples: no data"},
    ],
    "verdicts": [
        {"finding": "1. up", "verdict": "holds", "a": "A", "b": "B", "metric": "Maj1@N",
         "difference": 0.125, "ci95": [0.05, 0.2], "problems": 40, "detectable": 0.075},
        {"finding": "2. down", "verdict": "does not hold", "a": "C", "b": "D",
         "metric": "RR.Top2 vs Maj1@N", "difference": -0.25, "ci95": [-0.4, -0.1],
         "problems": 8, "detectable": 0.15},
        {"finding": "3. missing", "verdict": "inconclusive", "difference": None,
         "why": "no results for E (skipped stage)"},
        {"finding": "4. unpaired", "verdict": "inconclusive", "difference": None},
    ],
    "stages": {"sft": {"seconds": 12.5, "tokens_per_second": 100.0},
               "scores": {"seconds": 3, "candidates_per_second": 7.5}},
}

EXPECTED = """\
# Recipe report

| row | Greedy | Maj1@N | evaluator AUC | AUC within problems |
|---|---:|---:|---:|---:|
| SSFT detailed | 25.0 [12.5, 50.0] | 50.0 [25.0, 75.0] | 0.60 [0.50, 0.75] | 0.55 [0.25, 0.90] |
| SSFT terse | 75.0 [50.0, 100.0] | – | 0.30 [0.20, 0.40] | – |
| joint mixture | – | – | – | – |

joint mixture: not run (train_samples: no data).

Cells: percent of test problems, [bootstrap 95% interval over problems]. Evaluator AUC: \
correct above incorrect samples, pooled over all test problems; within problems: the mean \
AUC of the problems with both (what re-ranking can use; `evaluation/ranking.py`).

## Verdicts

- **1. up: holds** (A − B on Maj1@N: +12.5 points [+5.0, +20.0] over 40 problems; \
detectable effect ±7.5 points)
- **2. down: does not hold** (C − D on RR.Top2 vs Maj1@N: -25.0 points [-40.0, -10.0] over \
8 problems; detectable effect ±15.0 points)
- **3. missing: inconclusive** (no results for E (skipped stage))
- **4. unpaired: inconclusive** (no paired problems)

## Stages

| stage | seconds | tokens/s | candidates/s |
|---|---:|---:|---:|
| sft | 12.5 | 100.0 |  |
| scores | 3 |  | 7.5 |
"""


def test_markdown_cell_by_cell():
    assert table.markdown(REPORT) == EXPECTED


def test_empty_cells_and_aucs_are_dashes():
    assert table.pct(None) == table.pct({}) == "–"
    assert table.pct({"mean": 1.0, "ci95": [0.0, 1.0]}) == "100.0 [0.0, 100.0]"
    assert table._auc_cell(None) == table._auc_cell({}) == "–"


def _stage_folder(tmp_path, name, outputs, seconds):
    folder = tmp_path / name
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({
        "version": MANIFEST_VERSION, "fingerprint": "f", "complete": True, "seconds": seconds,
        "outputs": outputs}))
    return str(folder)


def test_stage_summary_keeps_the_four_rate_and_size_outputs(tmp_path):
    outputs = {"tokens_per_second": 9.5, "generated_tokens": 100, "candidates_per_second": 2.0,
               "steps": 7, "final_metrics": {"loss": 1.0}, "report": "x.md"}
    folder = _stage_folder(tmp_path, "done", outputs, seconds=4.25)
    assert table._stage_summary(folder) == {
        "seconds": 4.25, "tokens_per_second": 9.5, "generated_tokens": 100,
        "candidates_per_second": 2.0, "steps": 7}
    assert table._stage_summary(_stage_folder(tmp_path, "bare", None, 1)) == {"seconds": 1}
    assert table._stage_summary(str(tmp_path / "never_ran")) == {"seconds": None}
