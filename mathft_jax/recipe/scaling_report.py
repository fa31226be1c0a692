"""The scaling study's report: within-problem AUC by training-set size and evaluator kind.

    scaling.json  {"version": 1, "sizes", "kinds", "test_problems", "cells": [{"kind",
                   "size", "train_problems", "rows", "steps", "auc", "ci95", "test_problems",
                   "skipped"}], "baselines": [{"label", "auc", "ci95", "test_problems"}],
                   "stages": {name: seconds}}
    scaling.md    the table (size x kind -> AUC [95% interval]) and the baselines
    scaling.png   AUC against size (log axis), one line per kind with interval bars, the
                  baselines as horizontal lines with their intervals as bands, chance at 0.5

Every AUC is `ranking.within_problem_auc` over the same test problems (those with correct and
incorrect samples, `scaling.scaling_test`), with a bootstrap interval over problems.
"""

from __future__ import annotations

import math
import os
from typing import Mapping

from mathft_jax import formats
from mathft_jax.atomic_files import atomic_write, atomic_write_json, atomic_write_text
from mathft_jax.evaluation.problems import grade_problems
from mathft_jax.recipe import paper, scaling as scaling_lib
from mathft_jax.recipe.runner import read_manifest

VERSION = 1
KIND_LABELS = {"classification": "outcome labels (classification loss)",
               "margin": "outcome labels (margin loss)",
               "mixture": "outcome labels (mixture loss)",
               "steps": "step labels (step evaluator)",
               "likelihood": "LM loss + token labels (verifier)"}


def within_auc(candidates_file: str, scores_file: str, num_bootstrap: int, seed: int) -> dict:
    """{"auc", "ci95", "problems"}: the within-problem AUC of the scores on the candidates."""
    from mathft_jax.evaluate import evaluator_auc
    rows, _ = formats.read_candidates(candidates_file)
    scores = formats.read_scores(scores_file)[0]
    problems, _ = grade_problems(rows, {}, scores)
    return evaluator_auc(problems, num_bootstrap, seed)["within_problem"]


def training_rows(candidates_file: str, kind: str, seed: int) -> int:
    """The training rows an evaluator of `kind` builds from a subset's candidates."""
    from mathft_jax.evaluator import examples
    rows, _ = formats.read_candidates(candidates_file)
    if kind in paper.OUTCOME_LOSSES:
        want = "classification" if kind == "classification" else "pair"
        return sum(e["kind"] == want for e in examples.build_examples(rows, seed=seed)[0])
    return len(examples.build_step_examples(rows)[0])


def build(inputs: Mapping[str, str], settings, scaling) -> dict:
    test = os.path.join(inputs["scaling_test"], paper.CANDIDATES)
    boot = (settings.num_bootstrap, settings.seed)
    cells = []
    for size in scaling.sizes:
        subset = os.path.join(inputs[f"subset_{size}"], paper.CANDIDATES)
        problems = (read_manifest(inputs[f"subset_{size}"]) or {})["outputs"]["problems"]
        for kind in scaling.kinds:
            name = scaling_lib.stage_name(kind, size)
            trained = read_manifest(inputs[name]) or {}
            cell = {"kind": kind, "size": size, "train_problems": problems,
                    "rows": training_rows(subset, kind, settings.seed),
                    "steps": (trained.get("outputs") or {}).get("steps"),
                    "skipped": paper.skipped(inputs[f"{name}_scores"])}
            if not cell["skipped"]:
                cell.update(_renamed(within_auc(test, os.path.join(inputs[f"{name}_scores"],
                                                                   paper.SCORES), *boot)))
            cells.append(cell)
    baselines = [{"label": label, **_renamed(within_auc(
        test, os.path.join(inputs[stage], paper.SCORES), *boot))}
        for stage, label in scaling_lib.BASELINES.items()]
    tested = (read_manifest(inputs["scaling_test"]) or {}).get("outputs", {})
    return {"version": VERSION, "sizes": list(scaling.sizes), "kinds": list(scaling.kinds),
            "test_problems": tested, "cells": cells, "baselines": baselines,
            "stages": {name: (read_manifest(folder) or {}).get("seconds")
                       for name, folder in inputs.items()}}


def _renamed(auc: Mapping) -> dict:
    """`within_auc`'s result with "problems" named "test_problems"."""
    out = dict(auc)
    out["test_problems"] = out.pop("problems")
    return out


def _auc(c: Mapping) -> str:
    if c.get("skipped") or c.get("auc") is None or math.isnan(c["auc"]):
        return "–"
    return f"{c['auc']:.2f} [{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}]"


def markdown(report: dict) -> str:
    kinds, cells = report["kinds"], report["cells"]
    by = {(c["kind"], c["size"]): c for c in cells}
    lines = ["# Evaluator data scaling", "",
             "| training examples (problems) | " + " | ".join(KIND_LABELS[k] for k in kinds)
             + " |", "|---|" + "---:|" * len(kinds)]
    for size in report["sizes"]:
        first = by[(kinds[0], size)]
        row = [f"{_auc(by[(k, size)])} ({by[(k, size)]['rows']} rows, "
               f"{by[(k, size)]['steps'] or 0} steps)" for k in kinds]
        lines.append(f"| {size} ({first['train_problems']}) | " + " | ".join(row) + " |")
    for b in report["baselines"]:
        lines.append(f"| {b['label']} | " + " | ".join([_auc(b)] * len(kinds)) + " |")
    tested = report["test_problems"]
    lines += ["", f"Within-problem AUC [bootstrap 95% interval over problems] on the "
              f"{tested.get('problems')} of {tested.get('of_problems')} test problems with both "
              "correct and incorrect samples (0.5: no help to re-ranking). Rows: the training "
              "rows each evaluator built from the examples (the outcome losses keep only "
              "problems with both labels). Baselines: the generator's own probability, "
              "untrained (the same at every size)."]
    for c in cells:
        if c["skipped"]:
            lines.append(f"\n{KIND_LABELS[c['kind']]} at {c['size']}: not trained "
                         f"({c['skipped']}).")
    return "\n".join(lines) + "\n"


def plot(report: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathft_jax.evaluation.plots import curve_styles
    fig, ax = plt.subplots(figsize=(7.4, 4.2), dpi=120)
    styles = curve_styles(report["kinds"])
    for i, kind in enumerate(report["kinds"]):
        cells = [c for c in report["cells"] if c["kind"] == kind and not c["skipped"]
                 and c.get("auc") is not None and not math.isnan(c["auc"])]
        if not cells:
            continue
        # A small offset per kind on the log axis keeps equal points and bars apart.
        x = [c["size"] * 1.04 ** (i - (len(report["kinds"]) - 1) / 2) for c in cells]
        y = [c["auc"] for c in cells]
        err = [[c["auc"] - c["ci95"][0] for c in cells], [c["ci95"][1] - c["auc"] for c in cells]]
        st = styles[kind]
        ax.errorbar(x, y, yerr=err, color=st.color, marker=st.marker, linestyle=st.linestyle,
                    capsize=3, label=KIND_LABELS[kind])
    for b, (color, dash) in zip(report["baselines"], (("black", "--"), ("dimgray", ":"))):
        ax.axhline(b["auc"], color=color, linestyle=dash, label=b["label"])
        ax.axhspan(b["ci95"][0], b["ci95"][1], color=color, alpha=0.08)
    ax.axhline(0.5, color="lightgray", linewidth=1)
    ax.set_xscale("log")
    ax.set_xticks(report["sizes"])
    ax.set_xticklabels([str(n) for n in report["sizes"]])
    ax.minorticks_off()
    ax.set_xlabel("evaluator training examples (sampled solutions)")
    ax.set_ylabel("within-problem AUC")
    ax.set_title("Evaluators against training data")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def write(folder: str, inputs: Mapping[str, str], settings, scaling) -> dict:
    """The report stage: scaling.json, scaling.md and scaling.png in `folder`."""
    report = build(inputs, settings, scaling)
    atomic_write_json(os.path.join(folder, "scaling.json"), report)
    text = markdown(report)
    atomic_write_text(os.path.join(folder, "scaling.md"), text)
    plot(report, os.path.join(folder, "scaling.png"))
    print(text, flush=True)
    return {"report": os.path.join(folder, "scaling.md"), "plot": os.path.join(folder,
                                                                              "scaling.png")}
