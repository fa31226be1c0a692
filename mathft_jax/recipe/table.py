"""The recipe's report: the paper's table in miniature, paired comparisons, three verdicts.

Rows (`paper.rows`) x columns: Greedy (Pass@1), pass@1 (sampled), Maj1@N, MajK@N, Pass@N,
RR.All, RR.TopK, W.RR, W.RR.MajK, evaluator AUC. Each cell is the mean over test problems with
a percentile-bootstrap 95% interval over problems; the numbers are recomputed here from the
graded and scores files (`evaluation.graded`, `evaluation.problems`), the same way `evaluate`
computes them.

Verdicts compare two rows on the SAME problems: the per-problem difference of one metric, its
mean and a bootstrap 95% interval. "holds" when the interval is above 0, "does not hold" when
it is below 0, "inconclusive" when it contains 0.

  1. Solution granularity: SSFT on detailed solutions vs on terse ones, Maj1@N.
  2. Solution-cluster re-ranking: RR.TopK vs Maj1@N of the same samples, judged with the
     step evaluator when the recipe trains one (`reranking_rows`), and reported with the
     margin evaluator (the paper's best) too.
  3. Multi-task sequential fine-tuning: greedy Pass@1 of the multi-task model vs its
     extra-MLE-steps control.

report.json (version 1): {"version", "settings", "columns", "rows": [{"label", "cells":
{column: {"mean", "ci95"}}, "evaluator_auc"}], "verdicts": [{"finding", "metric", "a", "b",
"difference", "ci95", "problems", "verdict", "detectable"}], "stages": {name: {"seconds", ...}}}
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Optional, Sequence

import numpy as np

from mathft_jax import formats
from mathft_jax.atomic_files import atomic_write_json, atomic_write_text
from mathft_jax.evaluation import plots
from mathft_jax.evaluation.graded import read_graded
from mathft_jax.evaluation.problems import with_scores
from mathft_jax.evaluation.report import bootstrap_ci
from mathft_jax.file_paths import as_path
from mathft_jax.recipe.paper import STEP_ROW, VERIFIER_ROW, skipped
from mathft_jax.recipe.runner import read_manifest

REPORT_VERSION = 1


def columns(settings) -> list[str]:
    k = settings.rerank_k
    maj = [f"Maj{m}@N" for m in settings.maj_ks if m > 1][:1]
    return (["Greedy", "pass@1", "Maj1@N"] + maj + ["Pass@N", "RR.All", f"RR.Top{k}", "W.RR",
                                                   f"W.RR.Maj{k}"])


def per_problem(graded_file: str, scores_file: str | None, settings) -> dict[str, dict]:
    """problem_id -> {metric: 0/1 or pass@k value} for one row."""
    problems, _, _ = read_graded(graded_file)
    if scores_file:
        problems, _ = with_scores(problems, formats.read_scores(scores_file)[0])
    return {p.problem_id: p.metrics(pass_ks=settings.pass_ks, maj_ks=settings.maj_ks,
                                    rerank_k=settings.rerank_k) for p in problems}


def cell(values: Sequence[float], settings) -> dict:
    lo, hi = bootstrap_ci(values, settings.num_bootstrap, settings.seed)
    return {"mean": float(np.mean(values)), "ci95": [lo, hi], "n": len(values)}


def paired(a: Mapping[str, dict], b: Mapping[str, dict], metric: str, settings) -> dict:
    common = sorted(set(a) & set(b))
    diff = [a[p][metric] - b[p][metric] for p in common if metric in a[p] and metric in b[p]]
    if not diff:
        return {"difference": None, "ci95": [None, None], "problems": 0,
                "verdict": "inconclusive"}
    lo, hi = bootstrap_ci(diff, settings.num_bootstrap, settings.seed)
    verdict = "holds" if lo > 0 else "does not hold" if hi < 0 else "inconclusive"
    # The interval's half-width: about the smallest effect this run could tell from zero.
    return {"difference": float(np.mean(diff)), "ci95": [lo, hi], "problems": len(diff),
            "verdict": verdict, "detectable": (hi - lo) / 2}


def row_values(inputs: Mapping[str, str], settings, rows) -> dict[str, dict[str, dict]]:
    """label -> problem_id -> {metric: value} for every row whose stages ran."""
    values = {}
    for label, samples, scores in rows:
        if not skipped(inputs["eval_" + (scores or samples)]):
            values[label] = per_problem(
                os.path.join(inputs["graded_" + samples], "graded.jsonl"),
                os.path.join(inputs[scores], "scores.jsonl") if scores else None, settings)
    return values


def build(inputs: Mapping[str, str], settings, rows) -> dict:
    cols = columns(settings)
    values, table = row_values(inputs, settings, rows), []
    for label, samples, scores in rows:
        evaluation = inputs["eval_" + (scores or samples)]
        if label not in values:
            table.append({"label": label, "cells": {}, "evaluator_auc": None,
                          "skipped": skipped(evaluation)})
            continue
        cells = {c: cell([m[c] for m in values[label].values() if c in m], settings)
                 for c in cols if any(c in m for m in values[label].values())}
        report_json = os.path.join(evaluation, "report.json")
        auc = json.loads(as_path(report_json).read_text()).get("evaluator_auc")
        table.append({"label": label, "cells": cells, "evaluator_auc": auc,
                      "curves_from": report_json})
    return {"version": REPORT_VERSION, "settings": settings.as_dict(), "columns": cols,
            "rows": table, "verdicts": verdicts(values, rows, settings),
            "stages": {name: _stage_summary(folder) for name, folder in inputs.items()}}


def reranking_rows(labels: Sequence[str]) -> list[str]:
    """The evaluator rows finding 2 is judged on, the deciding one first: the likelihood
    verifier, then the step evaluator, when the recipe trains them (the evaluators that keep
    or add dense supervision), then the paper's margin evaluator; without any of these, the
    first evaluator row. Fixed by the settings, never by the results."""
    first = [l for l in labels if l in (VERIFIER_ROW, STEP_ROW)]
    first.sort(key=(VERIFIER_ROW, STEP_ROW).index)
    margin = [l for l in labels if "margin evaluator" in l]
    chosen = first + margin
    if not chosen:
        chosen = [l for l in labels if "evaluator" in l and "likelihood" not in l][:1]
    return chosen


def _evaluator_name(label: str) -> str:
    """'SSFT detailed + margin evaluator' -> "the paper's margin evaluator"."""
    name = label.split(" + ", 1)[-1]
    return f"the paper's {name}" if "margin evaluator" in name else f"the {name}"


def verdicts(values: Mapping[str, Mapping], rows, settings) -> list[dict]:
    labels = [label for label, _, _ in rows]
    k = settings.rerank_k
    out = [{"finding": "1. fine-grained (detailed) solutions fine-tune better than terse ones",
            "metric": "Maj1@N", "a": "SSFT detailed", "b": "SSFT terse"}]
    for i, reranked in enumerate(reranking_rows(labels)):
        finding = ("2. re-ranking answer clusters with the evaluator beats majority voting"
                   if i == 0 else f"2 (also reported). the same with {_evaluator_name(reranked)}")
        out.append({"finding": finding, "metric": f"RR.Top{k} vs Maj1@N", "a": reranked,
                    "b": "SSFT detailed"})
    out.append({"finding": "3. multi-task sequential fine-tuning improves the generator over "
                           "extra MLE steps", "metric": "Greedy", "a": "multi-task sequential",
                "b": "extra-MLE-steps control"})
    for v in out:
        missing = [r for r in (v["a"], v["b"]) if r not in values]
        if missing:
            v.update(difference=None, ci95=[None, None], problems=0, verdict="inconclusive",
                     why=f"no results for {', '.join(missing)} (skipped stage)")
            continue
        if v["metric"].startswith("RR."):
            a = {p: {"m": m.get(f"RR.Top{k}", np.nan)} for p, m in values[v["a"]].items()}
            b = {p: {"m": m["Maj1@N"]} for p, m in values[v["b"]].items() if "Maj1@N" in m}
            v.update(paired(a, b, "m", settings))
        else:
            v.update(paired(values[v["a"]], values[v["b"]], v["metric"], settings))
    return out


def _stage_summary(folder: str) -> dict:
    manifest = read_manifest(folder) or {}
    return {"seconds": manifest.get("seconds"), **{
        k: v for k, v in (manifest.get("outputs") or {}).items()
        if k in ("tokens_per_second", "generated_tokens", "candidates_per_second", "steps")}}


def _auc_cell(auc: Optional[Mapping]) -> str:
    if not auc:
        return "–"
    return f"{auc['auc']:.2f} [{auc['ci95'][0]:.2f}, {auc['ci95'][1]:.2f}]"


def markdown(report: dict) -> str:
    cols = report["columns"]
    lines = ["# Recipe report", "", "| row | " + " | ".join(cols)
             + " | evaluator AUC | AUC within problems |", "|---|" + "---:|" * (len(cols) + 2)]
    for row in report["rows"]:
        cells = [pct(row["cells"].get(c)) for c in cols]
        auc = row["evaluator_auc"]
        cells.append(_auc_cell(auc))
        cells.append(_auc_cell(auc and auc.get("within_problem")))
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    for row in report["rows"]:
        if row.get("skipped"):
            lines.append(f"\n{row['label']}: not run ({row['skipped']}).")
    lines += ["", "Cells: percent of test problems, [bootstrap 95% interval over problems]. "
              "Evaluator AUC: correct above incorrect samples, pooled over all test problems; "
              "within problems: the mean AUC of the problems with both (what re-ranking can "
              "use; `evaluation/ranking.py`).", "", "## Verdicts", ""]
    for v in report["verdicts"]:
        d = v["difference"]
        numbers = (v.get("why", "no paired problems") if d is None else
                   f"{v['a']} − {v['b']} on {v['metric']}: {100 * d:+.1f} points "
                   f"[{100 * v['ci95'][0]:+.1f}, {100 * v['ci95'][1]:+.1f}] over "
                   f"{v['problems']} problems; detectable effect ±{100 * v['detectable']:.1f}"
                   " points")
        lines.append(f"- **{v['finding']}: {v['verdict']}** ({numbers})")
    lines += ["", "## Stages", "", "| stage | seconds | tokens/s | candidates/s |",
              "|---|---:|---:|---:|"]
    for name, st in report["stages"].items():
        lines.append(f"| {name} | {st.get('seconds')} | {st.get('tokens_per_second', '')} | "
                     f"{st.get('candidates_per_second', '')} |")
    return "\n".join(lines) + "\n"


def pct(c) -> str:
    """A cell as `mean [lo, hi]` in percent, or – when empty."""
    if not c:
        return "–"
    return f"{100 * c['mean']:.1f} [{100 * c['ci95'][0]:.1f}, {100 * c['ci95'][1]:.1f}]"


def write(folder: str, inputs: Mapping[str, str], settings, rows) -> dict:
    """The report stage: report.json, report.md and one accuracy-vs-N plot per scored row."""
    from mathft_jax import distributed
    report = build(inputs, settings, rows)
    if not distributed.is_primary_host():  # every host builds it; one writes
        return {"report": os.path.join(folder, "report.md")}
    atomic_write_json(os.path.join(folder, "report.json"), report)
    atomic_write_text(os.path.join(folder, "report.md"), markdown(report))
    for row in report["rows"]:
        if row.get("skipped"):
            continue
        curves = json.loads(as_path(row["curves_from"]).read_text())["accuracy_vs_n"]
        name = row["label"].replace(" ", "_").replace("+", "plus")
        plots.plot_accuracy_vs_n(curves, os.path.join(folder, f"accuracy_vs_n_{name}.png"),
                                 title=row["label"])
    print(markdown(report), flush=True)
    return {"report": os.path.join(folder, "report.md")}
