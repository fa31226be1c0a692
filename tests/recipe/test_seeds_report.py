"""The aggregate over seeds as written (`recipe.seeds.markdown` and `write`): the text of
aggregate.md cell by cell, and what `write` reads (each seed's report and values under that
seed's settings) and writes."""

import json
import os

import pytest

from mathft_jax.models import ModelConfig
from mathft_jax.recipe import seeds, table
from mathft_jax.recipe.settings import RecipeSettings

AGGREGATE = {
    "seeds": [0, 2], "columns": ["Greedy", "Maj1@N"],
    "rows": [
        {"label": "A", "cells": {"Greedy": {"mean": 0.5, "ci95": [0.25, 0.75]},
                                 "Maj1@N": {"mean": 0.125, "ci95": [0.0, 0.5]}},
         "evaluator_auc": {"mean": 0.6, "ci95": [0.5, 0.7]},
         "within_problem_auc": {"mean": 0.55, "ci95": [0.4, 0.9]}},
        {"label": "B", "cells": {}, "evaluator_auc": None},
    ],
    "verdicts": [
        {"finding": "1. up", "verdict": "holds", "a": "A", "b": "B", "metric": "Greedy",
         "difference": 0.125, "ci95": [0.05, 0.2], "problems": 40, "seeds_holding": 1,
         "per_seed": [{"seed": 0, "difference": 0.25}, {"seed": 2, "difference": None}]},
        {"finding": "3. gone", "verdict": "inconclusive", "difference": None,
         "why": "no results for C (skipped stage)", "seeds_holding": 0,
         "per_seed": [{"seed": 0, "difference": -0.5}, {"seed": 2, "difference": None}]},
        {"finding": "4. unpaired", "verdict": "inconclusive", "difference": None,
         "seeds_holding": 0, "per_seed": []},
    ],
}

EXPECTED = """\
# Recipe report over 2 seeds (0, 2)

| row | Greedy | Maj1@N | evaluator AUC | AUC within problems |
|---|---:|---:|---:|---:|
| A | 50.0 [25.0, 75.0] | 12.5 [0.0, 50.0] | 0.60 [0.50, 0.70] | 0.55 [0.40, 0.90] |
| B | – | – | – | – |

Cells: percent of test problems, mean over 2 seeds [95% t-interval across seeds]; each \
seed's own table is in seed_<k>/report/.

## Verdicts

- **1. up: holds** (A − B on Greedy, averaged over seeds: +12.5 points [+5.0, +20.0] over \
40 problems; seed 0: +25.0, seed 2: –; held alone in 1 of 2 seeds)
- **3. gone: inconclusive** (no results for C (skipped stage); seed 0: -50.0, seed 2: –; \
held alone in 0 of 2 seeds)
- **4. unpaired: inconclusive** (no paired problems; ; held alone in 0 of 2 seeds)
"""

SETTINGS = RecipeSettings(model_config=ModelConfig(), pass_ks=(1,), maj_ks=(1,), rerank_k=2,
                          num_bootstrap=50, seed=7)
ROWS = [("multi-task sequential", "test_multitask", None),
        ("extra-MLE-steps control", "test_control", None)]


def test_markdown_cell_by_cell():
    assert seeds.markdown(AGGREGATE) == EXPECTED


def test_seed_folders_and_settings():
    assert seeds.seed_dir("/runs/x", 3) == os.path.join("/runs/x", "seed_3")
    assert seeds.seed_settings(SETTINGS, 3) == RecipeSettings(
        model_config=ModelConfig(), pass_ks=(1,), maj_ks=(1,), rerank_k=2, num_bootstrap=50,
        seed=3)


def _values(multitask: list[float]) -> dict:
    return {"multi-task sequential": {f"p{i}": {"Greedy": g} for i, g in enumerate(multitask)},
            "extra-MLE-steps control": {f"p{i}": {"Greedy": 0.0} for i in range(4)}}


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """Two finished seeds (0 and 2); `table.row_values` answers per seed from their values."""
    per_seed = {0: _values([1.0, 1.0, 0.0, 0.0]), 2: _values([1.0, 1.0, 1.0, 0.0])}
    for k, values in per_seed.items():
        folder = tmp_path / f"seed_{k}" / "report"
        folder.mkdir(parents=True)
        rows = [{"label": label, "evaluator_auc": None,
                 "cells": {"Greedy": table.cell([m["Greedy"] for m in values[label].values()],
                                                SETTINGS)}} for label, _, _ in ROWS]
        report = {"rows": rows, "verdicts": table.verdicts(values, ROWS, SETTINGS)}
        (folder / "report.json").write_text(json.dumps(report))
    read = []

    def row_values(inputs, settings, rows):
        read.append((inputs, settings.seed, rows))
        return per_seed[settings.seed]

    monkeypatch.setattr(table, "row_values", row_values)
    return tmp_path, per_seed, read


def test_write_reads_each_seed_and_writes_the_aggregate(run_dir, capsys):
    root, per_seed, read = run_dir
    rows_fn = lambda s: ROWS if s.seed in (0, 2, 7) else None  # noqa: E731
    inputs = {0: {"stage": "zero"}, 2: {"stage": "two"}}
    path = seeds.write(str(root), [0, 2], SETTINGS, rows_fn, inputs)
    assert path == os.path.join(root, "report", "aggregate.md")
    assert read == [({"stage": "zero"}, 0, ROWS), ({"stage": "two"}, 2, ROWS)]
    reports = {k: json.loads((root / f"seed_{k}" / "report" / "report.json").read_text())
               for k in (0, 2)}
    expected = seeds.build(reports, per_seed, SETTINGS, ROWS)
    written = json.loads((root / "report" / "aggregate.json").read_text())
    assert written == json.loads(json.dumps(expected)) and written["version"] == 1
    # Greedy of multi-task: 0.5 and 0.75 by seed; pooled difference over 4 problems 0.625.
    assert written["rows"][0]["cells"]["Greedy"]["per_seed"] == [0.5, 0.75]
    assert written["verdicts"][-1]["difference"] == pytest.approx(0.625)
    text = (root / "report" / "aggregate.md").read_text()
    assert text == seeds.markdown(expected)
    assert capsys.readouterr().out == text + "\n"


def test_only_the_primary_host_writes(run_dir, monkeypatch):
    from mathft_jax import distributed
    root, _, read = run_dir
    monkeypatch.setattr(distributed, "is_primary_host", lambda: False)
    path = seeds.write(str(root), [0, 2], SETTINGS, lambda s: ROWS, {0: {}, 2: {}})
    assert path == os.path.join(root, "report", "aggregate.md")
    assert read == [] and not (root / "report").exists()
