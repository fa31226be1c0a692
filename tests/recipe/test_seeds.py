"""The recipe's aggregate over seeds: cells across seeds, pooled paired verdicts, per seed."""

import dataclasses
import math

import pytest

from mathft_jax.models import ModelConfig
from mathft_jax.recipe import paper, seeds, table
from mathft_jax.recipe.settings import RecipeSettings

SETTINGS = RecipeSettings(model_config=ModelConfig(), pass_ks=(1, 4), maj_ks=(2,), rerank_k=2,
                          num_bootstrap=200)
ROWS = paper.rows(SETTINGS)
COLS = table.columns(SETTINGS)


def test_across_seeds_t_interval():
    out = seeds.across_seeds([0.2, 0.4, 0.6])
    half = 4.302652729749462 * 0.2 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert out["mean"] == pytest.approx(0.4)
    assert out["ci95"] == pytest.approx([0.4 - half, 0.4 + half])
    assert out["per_seed"] == [0.2, 0.4, 0.6]
    assert seeds.across_seeds([0.3])["ci95"] == [0.3, 0.3]


def test_each_seed_keeps_its_summaries_apart():
    assert seeds.seed_settings(SETTINGS, 2).summary_dir is None  # in the stage folders
    kept = dataclasses.replace(SETTINGS, summary_dir="/tb")
    assert (seeds.seed_settings(kept, 2).seed, seeds.seed_settings(kept, 2).summary_dir) == (
        2, "/tb/seed_2")


def test_average_over_seeds_keeps_only_what_every_seed_has():
    a = {"r": {"p1": {"Greedy": 1.0, "Pass@N": 1.0}, "p2": {"Greedy": 0.0}}, "only_a": {}}
    b = {"r": {"p1": {"Greedy": 0.0}, "p2": {"Greedy": 1.0}, "p3": {"Greedy": 1.0}}}
    assert seeds.average_over_seeds([a, b]) == {
        "r": {"p1": {"Greedy": 0.5}, "p2": {"Greedy": 0.5}}}


def _values(greedy_multitask: list[float], greedy_control: list[float]) -> dict:
    """Per-problem values of every row: Greedy differs between multitask and control."""
    n = len(greedy_control)
    base = {f"p{i}": {c: 0.5 for c in COLS} for i in range(n)}
    out = {label: {p: dict(m) for p, m in base.items()} for label, _, _ in ROWS}
    for i in range(n):
        out["multi-task sequential"][f"p{i}"]["Greedy"] = greedy_multitask[i]
        out["extra-MLE-steps control"][f"p{i}"]["Greedy"] = greedy_control[i]
    return out


def _report(values: dict) -> dict:
    """A seed's report.json as `table.build` writes it, from per-problem values."""
    rows = []
    for label, _, _ in ROWS:
        cells = {c: table.cell([m[c] for m in values[label].values()], SETTINGS) for c in COLS}
        rows.append({"label": label, "cells": cells, "evaluator_auc": None})
    return {"rows": rows, "verdicts": table.verdicts(values, ROWS, SETTINGS)}


def test_build_pools_paired_differences_and_counts_seeds():
    n = 40
    # Seed 0: multitask right on problems 0-29, control on 0-9 (holds alone). Seed 1:
    # multitask on 0-19, control on 10-29 (+1 on ten problems, -1 on ten: inconclusive alone).
    # Averaged over seeds: +0.5 on problems 0-19, 0 elsewhere, so +0.25 overall.
    per_seed = {0: _values([1.0] * 30 + [0.0] * 10, [1.0] * 10 + [0.0] * 30),
                1: _values([1.0] * 20 + [0.0] * 20, [0.0] * 10 + [1.0] * 20 + [0.0] * 10)}
    reports = {k: _report(v) for k, v in per_seed.items()}
    out = seeds.build(reports, per_seed, SETTINGS, ROWS)
    assert out["seeds"] == [0, 1] and out["columns"] == COLS
    greedy = out["rows"][[r for r, _, _ in ROWS].index("multi-task sequential")]["cells"]["Greedy"]
    assert greedy["per_seed"] == pytest.approx([0.75, 0.5])
    assert greedy["mean"] == pytest.approx(0.625)
    finding3 = out["verdicts"][-1]
    assert finding3["a"] == "multi-task sequential"
    assert finding3["difference"] == pytest.approx(0.25)
    assert finding3["problems"] == n
    assert finding3["verdict"] == "holds"
    assert [s["verdict"] for s in finding3["per_seed"]] == ["holds", "inconclusive"]
    assert finding3["seeds_holding"] == 1
    text = seeds.markdown(out)
    assert "over 2 seeds (0, 1)" in text and "held alone in 1 of 2 seeds" in text
