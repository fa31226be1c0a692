"""Accuracy against the number of samples N (the paper's figure style).

For each n in 1, 2, 4, ..., N (and N itself), `repeats` random subsets of n sample positions
are drawn per problem (numpy, fixed `seed`), the metrics are computed on each subset from the
full-set clusters restricted to it, and averaged over subsets and problems.

Bands: with `num_bootstrap > 0` (the default) the curves also carry a 95% bootstrap interval
per point under "bands" (problems resampled with replacement, each with all its draws; an
rng of its own, so the points do not depend on it). The figure draws them as a bar through
each point.

Example:
    curves = accuracy_vs_n(problems, names=["Pass@N", "Maj1@N"], repeats=8, seed=0)
    # {"n": [1, 2, 4], "Pass@N": [.31, .45, .58], "Maj1@N": [.31, .33, .40],
    #  "bands": {"Pass@N": [[.22, .40], ...], "Maj1@N": [...]}}
    plot_accuracy_vs_n(curves, "out/accuracy_vs_n.png")

Every curve of a figure has its own colour and its own marker (`curve_styles`), so the lines
stay apart in greyscale and for colour-blind readers. Curves often coincide (W.RR and
W.RR.MajK agree whenever the top cluster is also the largest; RR.TopK and RR.All when K covers
every cluster), so at each N the curves' points are set side by side (`dodge`, a fixed
offset per curve on the log2 axis, ticks at N itself): equal values show as a row of markers
and every interval bar stays visible, instead of one curve hiding under another and
overlapping shaded bands mixing into one colour. The legend sits outside the axes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Mapping, Optional, Sequence

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


BANDS = "bands"  # the key of the curves' intervals: {name: [[lo, hi] per n]}


def accuracy_vs_n(problems: Sequence, names: Sequence[str], repeats: int = 16, seed: int = 0,
                  rerank_k: int = 8, num_bootstrap: int = 200) -> dict:
    """Mean accuracy per subset size for each metric name (see the module docstring).

    Problems with fewer samples than n are left out of that point. A metric such as RR.Top8
    is reported under its name for every n. With `num_bootstrap > 0`, `curves["bands"][name]`
    holds each point's 95% interval ([nan, nan] where the point is nan).
    """
    sampled = [p for p in problems if p.labels]
    if not sampled:
        return {"n": []}
    n_max = max(len(p.labels) for p in sampled)
    rng = np.random.default_rng(seed)
    band_rng = np.random.default_rng([seed, 1])
    curves: dict = {"n": []}
    bands: dict[str, list[list[float]]] = {name: [] for name in names}
    for name in names:
        curves[name] = []
    for n in sample_sizes(n_max):
        # Per metric, per problem: the values of its draws at this n.
        values: dict[str, list[list[float]]] = {name: [] for name in names}
        for p in sampled:
            size = len(p.labels)
            if size < n:
                continue
            draws = 1 if n == size else repeats
            mine: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(draws):
                positions = sorted(rng.choice(size, size=n, replace=False).tolist())
                m = p.metrics(positions, pass_ks=(), maj_ks=(), rerank_k=rerank_k)
                for name in names:
                    if name in m:
                        mine[name].append(m[name])
            for name in names:
                if mine[name]:
                    values[name].append(mine[name])
        curves["n"].append(n)
        for name in names:
            pooled = [v for per_problem in values[name] for v in per_problem]
            curves[name].append(float(np.mean(pooled)) if pooled else math.nan)
            if num_bootstrap > 0:
                bands[name].append(bootstrap_band(values[name], num_bootstrap, band_rng))
    if num_bootstrap > 0:
        curves[BANDS] = bands
    return curves


def bootstrap_band(per_problem: Sequence[Sequence[float]], num_bootstrap: int,
                   rng: np.random.Generator) -> list[float]:
    """95% percentile interval of the pooled mean, resampling problems with replacement.

    Each problem brings all its draws, so the statistic is the one `accuracy_vs_n` reports
    (the mean over every draw of the resampled problems).

    Example:
        >>> bootstrap_band([[1.0, 1.0], [0.0]], 100, np.random.default_rng(0))[1]
        1.0
        >>> bootstrap_band([], 100, np.random.default_rng(0))
        [nan, nan]
    """
    if not per_problem:
        return [math.nan, math.nan]
    sums = np.array([sum(v) for v in per_problem], dtype=np.float64)
    counts = np.array([len(v) for v in per_problem], dtype=np.float64)
    picks = rng.integers(0, len(per_problem), size=(num_bootstrap, len(per_problem)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return [float(low), float(high)]


@dataclasses.dataclass(frozen=True)
class CurveStyle:
    """How one curve is drawn: matplotlib colour, marker and line style."""

    color: str
    marker: str
    linestyle: str = "-"


# Pass@N is the ceiling the other curves are read against: black and dashed. Each strategy
# has its own colour and marker; the digits of a name (RR.Top8, Maj4@N) do not matter.
STRATEGY_STYLES = {
    "Pass@N": CurveStyle("k", "s", "--"),
    "Maj1@N": CurveStyle("tab:blue", "o"),
    "MajK@N": CurveStyle("tab:cyan", "h"),
    "RR.TopK": CurveStyle("tab:orange", "^"),
    "RR.All": CurveStyle("tab:green", "v"),
    "W.RR": CurveStyle("tab:red", "D"),
    "W.RR.MajK": CurveStyle("tab:purple", "P"),
}
# For any other curve: the first colour and the first marker no curve of the figure has.
SPARE_COLORS = ("tab:brown", "tab:pink", "tab:olive", "tab:gray", "gold", "navy", "teal",
                "maroon", "lime", "magenta")
SPARE_MARKERS = ("X", "*", "<", ">", "p", "d", "8", "H", "1", "2")


def strategy(name: str) -> str:
    """The strategy a curve name stands for: 'RR.Top8' -> 'RR.TopK', 'Maj4@N' -> 'MajK@N'
    (Maj1@N, majority voting over all samples, stays itself)."""
    if name == "Maj1@N":
        return name
    return re.sub(r"(Top|Maj)\d+", r"\1K", name)


def curve_styles(names: Sequence[str]) -> dict[str, CurveStyle]:
    """A style per curve name: the strategy's own, else a spare one; within one call no two
    names share a colour or a marker (as long as the spares last)."""
    styles: dict[str, CurveStyle] = {}
    taken_colors: set[str] = set()
    taken_markers: set[str] = set()
    for name in names:
        style = STRATEGY_STYLES.get(strategy(name))
        if style and style.color not in taken_colors and style.marker not in taken_markers:
            styles[name] = style
            taken_colors.add(style.color)
            taken_markers.add(style.marker)
    for name in names:
        if name in styles:
            continue
        taken_colors |= {s.color for s in STRATEGY_STYLES.values()}
        taken_markers |= {s.marker for s in STRATEGY_STYLES.values()}
        color = next((c for c in SPARE_COLORS if c not in taken_colors), SPARE_COLORS[0])
        marker = next((m for m in SPARE_MARKERS if m not in taken_markers), SPARE_MARKERS[0])
        styles[name] = CurveStyle(color, marker, "-.")
        taken_colors.add(color)
        taken_markers.add(marker)
    return styles


def _plotted(curves: Mapping[str, list]) -> list[str]:
    """The curve names with at least one value (not "n", not the bands, not all NaN)."""
    return [name for name, values in curves.items()
            if name not in ("n", BANDS) and values and not all(np.isnan(values))]


def _band(curves: Mapping[str, list], name: str) -> Optional[tuple[list[float], list[float]]]:
    """(low, high) in percent for `name`'s band, or None when the curves have none."""
    band = (curves.get(BANDS) or {}).get(name)
    if not band or len(band) != len(curves["n"]):
        return None
    return [100 * lo for lo, _ in band], [100 * hi for _, hi in band]


def dodge(n: Sequence[int], count: int) -> list[float]:
    """Each of `count` curves' factor on N: 2 ** offset, the offsets evenly spread and
    centred on 0 over at most 0.4 of the narrowest gap between neighbouring N (log2), and
    never over a quarter octave.

    Example:
        >>> [round(f, 3) for f in dodge([1, 2, 4], 3)]
        [0.917, 1.0, 1.091]
    """
    if count <= 1:
        return [1.0] * count
    logs = np.log2(np.asarray(sorted(set(n)), dtype=np.float64))
    gap = float(np.min(np.diff(logs))) if len(logs) > 1 else 1.0
    span = min(0.4 * gap, 0.25)
    return [float(2 ** (span * (i / (count - 1) - 0.5))) for i in range(count)]


INTERVAL_NOTE = ("bars: 95% bootstrap intervals over problems; "
                 "the points at each N are set side by side")


def accuracy_figure(curves: dict, title: str = ""):
    """The accuracy-vs-N figure (matplotlib, Agg): one line per curve in percent, each with
    its own colour and marker (`curve_styles`) and, when the curves carry bands, its 95%
    bootstrap interval as a bar through each point in the same colour; the curves' points
    side by side at each N (`dodge`); log2 x axis ticked at each n; the legend outside the
    axes; curves with no value (empty or all NaN) are left out."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.4, 4.2), dpi=120)
    names = _plotted(curves)
    styles = curve_styles(names)
    banded = False
    for name, factor in zip(names, dodge(curves["n"], len(names))):
        style = styles[name]
        xs = [n * factor for n in curves["n"]]
        ax.plot(xs, [100 * v for v in curves[name]], marker=style.marker, ms=5,
                label=name, color=style.color, linestyle=style.linestyle, lw=1.3)
        band = _band(curves, name)
        if band is not None:
            ax.vlines(xs, band[0], band[1], color=style.color, lw=1.4, alpha=0.75)
            banded = True
    ax.set_xscale("log", base=2)
    ax.set_xticks(curves["n"])
    ax.set_xticklabels([str(n) for n in curves["n"]])
    ax.minorticks_off()
    ax.set_xlabel("number of samples N")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    if banded:
        fig.text(0.01, 0.01, INTERVAL_NOTE, fontsize=7, color="0.3")
    if title:
        ax.set_title(title)
    fig.tight_layout(rect=(0, 0.03 if banded else 0, 1, 1))
    return fig


def plot_accuracy_vs_n(curves: dict, path: str, title: str = "") -> None:
    """`accuracy_figure` written atomically as PNG to `path`; the figure is closed after."""
    fig = accuracy_figure(curves, title)  # selects the Agg backend before pyplot is used
    import matplotlib.pyplot as plt
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
