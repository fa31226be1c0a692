"""The recipe over several seeds: one full run per seed and a report that aggregates them.

`recipe(seeds=(0, 1, 2))` runs the whole chain once per seed into `<run_dir>/seed_<k>/`
(each a complete run with its own report; the seed drives initialisation, data order and
sampling, while the test problems stay the same) and then writes `<run_dir>/report/` with

* each cell as the mean over seeds of the per-seed means, with a 95% t-interval across seeds
  (`mean ± t(0.975, n-1) · sd / sqrt(n)`) and the per-seed values;
* each verdict twice: per seed (as in a single run), and pooled: the paired per-problem
  difference averaged over the seeds, with a bootstrap interval over problems. The pooled
  verdict is "holds" / "does not hold" / "inconclusive" by that interval, and the report says
  in how many seeds the finding held on its own.

Example (values of one row and column, three seeds):
    >>> round(across_seeds([0.30, 0.34, 0.32])["mean"], 3)
    0.32
    >>> [round(x, 3) for x in across_seeds([0.30, 0.34, 0.32])["ci95"]]
    [0.27, 0.37]

aggregate.json (version 1): {"version", "seeds", "columns", "rows": [{"label", "cells":
{column: {"mean", "ci95", "per_seed"}}, "evaluator_auc": {"mean", "ci95", "per_seed"} | null,
"within_problem_auc": (the same) | null}],
"verdicts": [{"finding", "metric", "a", "b", "difference", "ci95", "problems", "verdict",
"per_seed": [{"seed", "difference", "verdict"}], "seeds_holding"}]}
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from mathft_jax.atomic_files import atomic_write_json, atomic_write_text
from mathft_jax.file_paths import as_path
from mathft_jax.recipe import table
from mathft_jax.recipe.settings import RecipeSettings

AGGREGATE_VERSION = 1


def seed_dir(run_dir: str, seed: int) -> str:
    return os.path.join(run_dir, f"seed_{seed}")


def seed_settings(settings: RecipeSettings, seed: int) -> RecipeSettings:
    """`settings` for the run of `seed` (its summaries, if kept apart, in `seed_<k>/`)."""
    summary_dir = settings.summary_dir and seed_dir(settings.summary_dir, seed)
    return dataclasses.replace(settings, seed=seed, summary_dir=summary_dir)


def across_seeds(values: Sequence[float]) -> dict:
    """Mean, 95% t-interval across seeds (the mean twice for one seed), per-seed values."""
    x = np.asarray(values, dtype=float)
    mean = float(np.mean(x))
    if len(x) < 2:
        return {"mean": mean, "ci95": [mean, mean], "per_seed": x.tolist()}
    half = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
    return {"mean": mean, "ci95": [mean - half, mean + half], "per_seed": x.tolist()}


def average_over_seeds(per_seed: Sequence[Mapping[str, Mapping[str, Mapping[str, float]]]]
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """label -> problem -> metric, averaged over seeds; only what every seed has.

    Example:
        >>> average_over_seeds([{"r": {"p1": {"Greedy": 1.0}}},
        ...                     {"r": {"p1": {"Greedy": 0.0}, "p2": {"Greedy": 1.0}}}])
        {'r': {'p1': {'Greedy': 0.5}}}
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label in set.intersection(*(set(v) for v in per_seed)):
        problems = set.intersection(*(set(v[label]) for v in per_seed))
        out[label] = {}
        for pid in sorted(problems):
            metrics = set.intersection(*(set(v[label][pid]) for v in per_seed))
            out[label][pid] = {m: float(np.mean([v[label][pid][m] for v in per_seed]))
                               for m in sorted(metrics)}
    return out


def build(seed_reports: Mapping[int, dict], seed_values: Mapping[int, Mapping],
          settings: RecipeSettings, rows) -> dict:
    """The aggregate report from each seed's report.json and per-problem values."""
    seeds = sorted(seed_reports)
    cols = table.columns(settings)
    out_rows = []
    for i, (label, _, _) in enumerate(rows):
        seed_rows = [seed_reports[k]["rows"][i] for k in seeds]
        cells = {c: across_seeds([r["cells"][c]["mean"] for r in seed_rows])
                 for c in cols if all(c in r["cells"] for r in seed_rows)}
        out_rows.append({"label": label, "cells": cells,
                         "evaluator_auc": _auc_across_seeds(seed_rows, "auc"),
                         "within_problem_auc": _auc_across_seeds(seed_rows, "within_problem")})
    pooled = table.verdicts(average_over_seeds([seed_values[k] for k in seeds]), rows,
                            settings)
    for i, verdict in enumerate(pooled):
        verdict["per_seed"] = [{"seed": k, "difference": seed_reports[k]["verdicts"][i][
            "difference"], "verdict": seed_reports[k]["verdicts"][i]["verdict"]}
            for k in seeds]
        verdict["seeds_holding"] = sum(v["verdict"] == "holds" for v in verdict["per_seed"])
    return {"version": AGGREGATE_VERSION, "seeds": seeds, "columns": cols, "rows": out_rows,
            "verdicts": pooled}


def _auc_across_seeds(seed_rows: Sequence[Mapping], key: str) -> dict | None:
    """The pooled ("auc") or within-problem AUC of one row across seeds; None unless every
    seed has it."""
    values = []
    for r in seed_rows:
        auc = r.get("evaluator_auc") or {}
        value = auc.get("auc") if key == "auc" else (auc.get(key) or {}).get("auc")
        if value is not None:
            values.append(value)
    return across_seeds(values) if values and len(values) == len(seed_rows) else None


def markdown(report: dict) -> str:
    cols, n = report["columns"], len(report["seeds"])
    lines = [f"# Recipe report over {n} seeds ({', '.join(map(str, report['seeds']))})", "",
             "| row | " + " | ".join(cols) + " | evaluator AUC | AUC within problems |",
             "|---|" + "---:|" * (len(cols) + 2)]
    for row in report["rows"]:
        cells = [table.pct(row["cells"].get(c)) for c in cols]
        for auc in (row["evaluator_auc"], row.get("within_problem_auc")):
            cells.append("–" if not auc else f"{auc['mean']:.2f} [{auc['ci95'][0]:.2f}, "
                                             f"{auc['ci95'][1]:.2f}]")
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    lines += ["", f"Cells: percent of test problems, mean over {n} seeds [95% t-interval across "
              "seeds]; each seed's own table is in seed_<k>/report/.", "", "## Verdicts", ""]
    for v in report["verdicts"]:
        d = v["difference"]
        per_seed = ", ".join(f"seed {s['seed']}: " + ("–" if s["difference"] is None else
                                                      f"{100 * s['difference']:+.1f}")
                             for s in v["per_seed"])
        numbers = (v.get("why", "no paired problems") if d is None else
                   f"{v['a']} − {v['b']} on {v['metric']}, averaged over seeds: "
                   f"{100 * d:+.1f} points [{100 * v['ci95'][0]:+.1f}, "
                   f"{100 * v['ci95'][1]:+.1f}] over {v['problems']} problems")
        lines.append(f"- **{v['finding']}: {v['verdict']}** ({numbers}; {per_seed}; held "
                     f"alone in {v['seeds_holding']} of {n} seeds)")
    return "\n".join(lines) + "\n"


def write(run_dir: str, seeds: Sequence[int], settings: RecipeSettings, rows_fn,
          stage_inputs) -> str:
    """Writes `<run_dir>/report/aggregate.{json,md}` from the seeds' finished runs.

    Args:
      rows_fn: `paper.rows` (settings -> the table's rows).
      stage_inputs: seed -> {stage name: stage folder} of that seed's run.

    Multi-host: the primary host alone reads the seeds' reports and writes the aggregate.
    """
    from mathft_jax import distributed
    folder = os.path.join(run_dir, "report")
    if not distributed.is_primary_host():
        return os.path.join(folder, "aggregate.md")
    reports, values = {}, {}
    for k in seeds:
        s = seed_settings(settings, k)
        reports[k] = json.loads(
            as_path(os.path.join(seed_dir(run_dir, k), "report", "report.json")).read_text())
        values[k] = table.row_values(stage_inputs[k], s, rows_fn(s))
    report = build(reports, values, settings, rows_fn(settings))
    atomic_write_json(os.path.join(folder, "aggregate.json"), report)
    text = markdown(report)
    atomic_write_text(os.path.join(folder, "aggregate.md"), text)
    print(text, flush=True)
    return os.path.join(folder, "aggregate.md")
