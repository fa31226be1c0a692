"""Accuracy against the number of samples N (the paper's figure style).

For each n in 1, 2, 4, ..., N (and N itself), `repeats` random subsets of n sample positions
are drawn per problem (numpy, fixed `seed`), the metrics are computed on each subset from the
full-set clusters restricted to it, and averaged over subsets and problems.

Example:
    curves = accuracy_vs_n(problems, names=["Pass@N", "Maj1@N"], repeats=8, seed=0)
    # {"n": [1, 2, 4], "Pass@N": [.31, .45, .58], "Maj1@N": [.31, .33, .40]}
    plot_accuracy_vs_n(curves, "out/accuracy_vs_n.png")
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mathft_jax.atomic_files import atomic_write


def sample_sizes(n_max: int) -> list[int]:
    """1, 2, 4, ... up to n_max, always ending with n_max."""
    sizes, n = [], 1
    while n < n_max:
        sizes.append(n)
        n *= 2
    if n_max >= 1:
        sizes.append(n_max)
    return sizes


def accuracy_vs_n(problems: Sequence, names: Sequence[str], repeats: int = 16, seed: int = 0,
                  rerank_k: int = 8) -> dict[str, list[float]]:
    """Mean accuracy per subset size for each metric name (see the module docstring).

    Problems with fewer samples than n are left out of that point. A metric such as RR.Top8
    is reported under its name for every n.
    """
    sampled = [p for p in problems if p.labels]
    if not sampled:
        return {"n": []}
    n_max = max(len(p.labels) for p in sampled)
    rng = np.random.default_rng(seed)
    curves: dict[str, list[float]] = {"n": []}
    for name in names:
        curves[name] = []
    for n in sample_sizes(n_max):
        totals = {name: [] for name in names}
        for p in sampled:
            size = len(p.labels)
            if size < n:
                continue
            draws = 1 if n == size else repeats
            for _ in range(draws):
                positions = sorted(rng.choice(size, size=n, replace=False).tolist())
                m = p.metrics(positions, pass_ks=(), maj_ks=(), rerank_k=rerank_k)
                for name in names:
                    if name in m:
                        totals[name].append(m[name])
        curves["n"].append(n)
        for name in names:
            curves[name].append(float(np.mean(totals[name])) if totals[name] else math.nan)
    return curves


# Pass@N is the ceiling the other curves are read against: black and dashed; Maj1@N blue.
CURVE_STYLES = {"Pass@N": ("k", "--"), "Maj1@N": ("tab:blue", "-")}


def accuracy_figure(curves: dict[str, list[float]], title: str = ""):
    """The accuracy-vs-N figure (matplotlib, Agg): one line per curve in percent, log2 x axis
    ticked at each n; curves with no value (empty or all NaN) are left out."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    for name, values in curves.items():
        if name == "n" or not values or all(np.isnan(values)):
            continue
        color, line = CURVE_STYLES.get(name, (None, "-"))
        ax.plot(curves["n"], [100 * v for v in values], marker="o", ms=3, label=name,
                color=color, linestyle=line)
    ax.set_xscale("log", base=2)
    ax.set_xticks(curves["n"])
    ax.set_xticklabels([str(n) for n in curves["n"]])
    ax.set_xlabel("number of samples N")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_n(curves: dict[str, list[float]], path: str, title: str = "") -> None:
    """`accuracy_figure` written atomically as PNG to `path`; the figure is closed after."""
    fig = accuracy_figure(curves, title)  # selects the Agg backend before pyplot is used
    import matplotlib.pyplot as plt
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
