"""Aggregates per-problem metrics into report.json and report.md.

Each metric is averaged over problems overall, by level and by subject, with a percentile
bootstrap 95% interval (problems resampled with replacement `num_bootstrap` times, fixed
`seed`, so reports are reproducible). A metric missing for a problem (e.g. pass@64 with 32
samples, or "Greedy" without greedy rows) is averaged over the problems that have it.

report.json schema (version 1):
    {"version": 1, "config": {...}, "counts": {"problems": int, "malformed": int, ...},
     "scores_coverage": {"scored_rows": int, "sampled_rows": int, "scored_problems": int,
                         "problems": int},     (only with a scores file; RR.* columns average
                                                over the `scored_problems`)
     "metrics": [str, ...],
     "groups": {"overall": {"all": {"n": int, "<metric>": {"mean": float, "ci95": [lo, hi],
                                                             "n": int}}},
                "level": {"Level 1": {...}}, "subject": {"Algebra": {...}}},
     "accuracy_vs_n": {"n": [1, 2, ...], "<metric>": [float, ...]},
     "evaluator_auc": {"auc": float, "ci95": [lo, hi], "candidates": int, "correct": int,
                       "problems": int, "within_problem": {"auc": float, "ci95": [lo, hi],
                                                           "problems": int}}}
                                  (only with a scores file; see ranking.py)
"""

from __future__ import annotations

import json
import math
import os
from typing import Mapping, Sequence

import numpy as np

from mathft_jax.atomic_files import atomic_write_text

REPORT_VERSION = 1


def bootstrap_ci(values: Sequence[float], num_bootstrap: int = 1000, seed: int = 0
                 ) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean (NaNs for no values).

    Example:
        >>> bootstrap_ci([1.0] * 10)
        (1.0, 1.0)
        >>> lo, hi = bootstrap_ci([0.0, 1.0] * 50)   # mean 0.5, standard error 0.05
        >>> round(lo, 2), round(hi, 2)
        (0.4, 0.6)
    """
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(num_bootstrap, len(x)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def summarize(per_problem: Sequence[Mapping[str, float]], metric_names: Sequence[str],
              num_bootstrap: int = 1000, seed: int = 0) -> dict:
    """{"n": problems, metric: {"mean", "ci95", "n"}} for one group of problems."""
    out: dict = {"n": len(per_problem)}
    for name in metric_names:
        values = [p[name] for p in per_problem if name in p]
        if values:
            out[name] = {"mean": float(np.mean(values)),
                         "ci95": list(bootstrap_ci(values, num_bootstrap, seed)),
                         "n": len(values)}
    return out


def group_summaries(per_problem: Sequence[Mapping[str, float]], levels: Sequence[str],
                    subjects: Sequence[str], metric_names: Sequence[str],
                    num_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Summaries overall, by level and by subject (keys sorted)."""
    groups: dict = {"overall": {"all": summarize(per_problem, metric_names, num_bootstrap,
                                                 seed)}}
    for field, keys in (("level", levels), ("subject", subjects)):
        groups[field] = {}
        for key in sorted(set(keys)):
            members = [p for p, k in zip(per_problem, keys) if k == key]
            groups[field][key] = summarize(members, metric_names, num_bootstrap, seed)
    return groups


def markdown(report: dict) -> str:
    """The Markdown tables of a report: one row per group, mean and [95% CI] in percent."""
    names = [m for m in report["metrics"]
             if any(m in g for gs in report["groups"].values() for g in gs.values())]
    lines = ["# Evaluation report", ""]
    lines.append("Counts: " + ", ".join(f"{k} {v}" for k, v in report["counts"].items()))
    lines.append("")
    for field, title in (("overall", "Overall"), ("level", "By level"),
                         ("subject", "By subject")):
        lines += [f"## {title}", "", "| group | problems | " + " | ".join(names) + " |",
                  "|---|---:|" + "---:|" * len(names)]
        for key, summary in report["groups"][field].items():
            cells = []
            for name in names:
                s = summary.get(name)
                cells.append("–" if s is None else
                             f"{100 * s['mean']:.1f} [{100 * s['ci95'][0]:.1f}, "
                             f"{100 * s['ci95'][1]:.1f}]")
            lines.append(f"| {key} | {summary['n']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Cells: accuracy in percent, [bootstrap 95% interval over problems].")
    coverage = report.get("scores_coverage")
    if coverage:
        lines.append(f"RR columns: evaluator scores cover {coverage['scored_rows']} of "
                     f"{coverage['sampled_rows']} sampled rows; the RR columns average over "
                     f"the {coverage['scored_problems']} of {coverage['problems']} problems "
                     f"whose samples are all scored.")
    if "evaluator_auc" in report:
        a = report["evaluator_auc"]
        lines += ["", f"Evaluator AUC (correct above incorrect sampled candidates): "
                      f"{a['auc']:.3f} [{a['ci95'][0]:.3f}, {a['ci95'][1]:.3f}] over "
                      f"{a['candidates']} candidates ({a['correct']} correct) of "
                      f"{a['problems']} problems."]
        w = a.get("within_problem")
        if w:
            lines.append(f"Within problems (what re-ranking can use): {w['auc']:.3f} "
                         f"[{w['ci95'][0]:.3f}, {w['ci95'][1]:.3f}], the mean AUC of the "
                         f"{w['problems']} problems with correct and incorrect samples.")
    return "\n".join(lines) + "\n"


def write_report(report: dict, output_dir: str) -> tuple[str, str]:
    """Writes report.json and report.md atomically; returns their paths."""
    json_path = os.path.join(output_dir, "report.json")
    md_path = os.path.join(output_dir, "report.md")
    atomic_write_text(json_path, json.dumps(report, indent=1) + "\n")
    atomic_write_text(md_path, markdown(report))
    return json_path, md_path
