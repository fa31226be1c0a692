"""Accuracy-vs-N curves (subset draws) and their figure."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mathft_jax.evaluation import plots
from mathft_jax.evaluation.problems import GradedProblem


def _problem(pid: str, correct: list[bool], scores=None) -> GradedProblem:
    """Each sample its own cluster, correct where `correct` says so."""
    n = len(correct)
    return GradedProblem(pid, "L1", "A", "1", [str(i) for i in range(n)], list(range(n)),
                         dict(enumerate(correct)), scores, None)


def test_sample_sizes_double_and_end_at_the_maximum():
    assert plots.sample_sizes(64) == [1, 2, 4, 8, 16, 32, 64]
    assert plots.sample_sizes(5) == [1, 2, 4, 5]
    assert plots.sample_sizes(2) == [1, 2]
    assert plots.sample_sizes(1) == [1]
    assert plots.sample_sizes(0) == []


def test_accuracy_vs_n_known_values():
    # One problem, 4 samples, exactly one correct (its own cluster): Pass@N at n is n/4.
    curves = plots.accuracy_vs_n([_problem("p", [True, False, False, False])], ["Pass@N"],
                                 repeats=4000, seed=0)
    assert curves["n"] == [1, 2, 4]
    assert curves["Pass@N"][0] == pytest.approx(0.25, abs=0.03)
    assert curves["Pass@N"][1] == pytest.approx(0.5, abs=0.03)
    assert curves["Pass@N"][2] == 1.0


def test_the_full_set_is_drawn_once_and_smaller_problems_leave_the_point():
    # p has 2 samples (one correct), q has 4 (none correct). At n = 4 only q counts; at n = 2
    # p's full set counts once (Pass = 1) while q's 3 draws count 0 each: 1 / 4.
    p, q = _problem("p", [True, False]), _problem("q", [False] * 4)
    curves = plots.accuracy_vs_n([p, q], ["Pass@N"], repeats=3, seed=0, num_bootstrap=0)
    assert curves == {"n": [1, 2, 4], "Pass@N": [curves["Pass@N"][0], 0.25, 0.0]}
    # At n = 1: p's 3 draws hit the correct sample k times (k / 6 overall), q adds 3 zeros.
    assert curves["Pass@N"][0] * 6 == pytest.approx(round(curves["Pass@N"][0] * 6))


def test_problems_without_samples_are_left_out():
    greedy_only = GradedProblem("g", "L1", "A", "1", [], [], {}, None, True)
    assert plots.accuracy_vs_n([greedy_only], ["Pass@N"]) == {"n": []}
    curves = plots.accuracy_vs_n([greedy_only, _problem("p", [True])], ["Pass@N"])
    assert curves == {"n": [1], "Pass@N": [1.0], "bands": {"Pass@N": [[1.0, 1.0]]}}


def test_missing_metrics_are_nan_and_the_draws_follow_the_seed():
    problems = [_problem(f"p{i}", [i % 2 == 0, i % 3 == 0, False, True, False])
                for i in range(6)]
    curves = plots.accuracy_vs_n(problems, ["Maj1@N", "RR.Top2"], repeats=5, seed=7)
    assert curves["n"] == [1, 2, 4, 5] and all(math.isnan(v) for v in curves["RR.Top2"])
    same = plots.accuracy_vs_n(problems, ["Maj1@N", "RR.Top2"], repeats=5, seed=7)
    other = plots.accuracy_vs_n(problems, ["Maj1@N", "RR.Top2"], repeats=5, seed=8)
    assert same["Maj1@N"] == curves["Maj1@N"] != other["Maj1@N"]


def test_rerank_k_reaches_the_metric():
    # One sample per cluster, so the clusters tie on size and the earliest comes first; the
    # evaluator prefers the correct sample 1. RR.Top1 sees cluster 0 only (wrong); RR.Top2
    # re-ranks clusters 0 and 1 and picks 1. At n = 3 the full set is drawn once.
    problem = _problem("p", [False, True, False], scores=[0.1, 0.9, 0.2])
    top1 = plots.accuracy_vs_n([problem], ["RR.Top1"], repeats=1, seed=0, rerank_k=1)
    top2 = plots.accuracy_vs_n([problem], ["RR.Top2"], repeats=1, seed=0, rerank_k=2)
    assert (top1["RR.Top1"][-1], top2["RR.Top2"][-1]) == (0.0, 1.0)


def test_the_figure_shows_each_curve_in_percent_on_a_log2_axis():
    curves = {"n": [1, 2, 4], "Pass@N": [0.25, 0.5, 1.0], "Maj1@N": [0.25, 0.3, 0.4],
              "RR.Top8": [0.2, 0.3, 0.5], "W.RR": [], "never": [math.nan] * 3}
    fig = plots.accuracy_figure(curves, title="seed 0")
    try:
        assert matplotlib.get_backend().lower() == "agg"
        ax, = fig.axes
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert list(lines) == ["Pass@N", "Maj1@N", "RR.Top8"]
        # Set side by side around each N: the middle curve at N, the others a fixed factor off.
        for (name, line), factor in zip(lines.items(), (2 ** -0.125, 1.0, 2 ** 0.125)):
            np.testing.assert_allclose(line.get_xdata(), [factor * n for n in (1, 2, 4)])
            np.testing.assert_allclose(line.get_ydata(), [100 * v for v in curves[name]])
        assert (lines["Pass@N"].get_color(), lines["Pass@N"].get_linestyle()) == ("k", "--")
        assert lines["Maj1@N"].get_color() == "tab:blue"
        assert lines["Maj1@N"].get_linestyle() == lines["RR.Top8"].get_linestyle() == "-"
        assert lines["RR.Top8"].get_color() not in ("k", "tab:blue")
        assert not ax.collections and len(fig.texts) == 0  # no bands, no bars, no note
        assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
        assert list(ax.get_xticks()) == [1, 2, 4]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
        assert ax.get_xlabel() == "number of samples N" and ax.get_ylabel() == "accuracy (%)"
        assert ax.get_title() == "seed 0"
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["Pass@N", "Maj1@N", "RR.Top8"]
        # Outside the axes, where it hides no point.
        fig.canvas.draw()
        assert legend.get_window_extent().x0 > ax.get_window_extent().x1
    finally:
        plt.close(fig)
    untitled = plots.accuracy_figure({"n": [1], "Pass@N": [1.0]})
    assert untitled.axes[0].get_title() == ""
    plt.close(untitled)


def test_plot_writes_a_png_and_closes_the_figure(tmp_path):
    before = set(plt.get_fignums())
    path = tmp_path / "sub" / "curve.png"
    path.parent.mkdir()
    plots.plot_accuracy_vs_n({"n": [1, 2], "Pass@N": [0.5, 1.0]}, str(path), title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(plt.get_fignums()) == before
    assert [p.name for p in path.parent.iterdir()] == ["curve.png"]  # no temporary left


def test_plot_passes_the_curves_and_title_to_the_figure(monkeypatch, tmp_path):
    built = []

    def figure(curves, title=""):
        built.append((curves, title))
        return plt.figure()
    monkeypatch.setattr(plots, "accuracy_figure", figure)
    curves = {"n": [1], "Pass@N": [1.0]}
    plots.plot_accuracy_vs_n(curves, str(tmp_path / "a.png"))
    plots.plot_accuracy_vs_n(curves, str(tmp_path / "b.png"), title="seed 1")
    assert built == [(curves, ""), (curves, "seed 1")]


def test_documented_defaults_and_no_warning_for_a_missing_metric(recwarn):
    problems = [_problem(f"p{i}", [i % 2 == 0, i % 3 == 0, False, True, False],
                         scores=[0.1 * ((i + j) % 7) for j in range(5)]) for i in range(9)]
    names = ["Maj1@N", "RR.Top8", "W.RR.Maj8", "absent"]
    curves = plots.accuracy_vs_n(problems, names)
    explicit = plots.accuracy_vs_n(problems, names, repeats=16, seed=0, rerank_k=8)
    assert all(curves[k] == explicit[k] for k in ("n", "Maj1@N", "RR.Top8", "W.RR.Maj8"))
    other = [plots.accuracy_vs_n(problems, names, **kw)["Maj1@N"]
             for kw in ({"repeats": 17}, {"seed": 1})]
    assert all(o != curves["Maj1@N"] for o in other)
    assert "RR.Top8" in curves and not any(math.isnan(v) for v in curves["RR.Top8"])
    assert all(math.isnan(v) for v in curves["absent"]) and not recwarn.list


def _line_styles(fig) -> list[tuple[str, str, str]]:
    """(label, RGBA colour, marker) of every line of the figure's one Axes, read back."""
    ax, = fig.axes
    return [(line.get_label(), matplotlib.colors.to_hex(line.get_color()), line.get_marker())
            for line in ax.get_lines()]


def test_the_lines_of_a_figure_are_distinguishable():
    names = ["Pass@N", "Maj1@N", "Maj4@N", "RR.Top8", "RR.All", "W.RR", "W.RR.Maj8",
             "custom", "another"]
    curves = {"n": [1, 2, 4], **{name: [0.1 * i, 0.2, 0.3] for i, name in enumerate(names)}}
    fig = plots.accuracy_figure(curves)
    try:
        styles = _line_styles(fig)
        assert [label for label, _, _ in styles] == names
        colors = [color for _, color, _ in styles]
        markers = [marker for _, _, marker in styles]
        assert len(set(colors)) == len(names), styles  # no two lines share a colour
        assert len(set(markers)) == len(names), styles  # nor a marker
        assert all(m not in ("", "None", " ", None) for m in markers)
        legend = fig.axes[0].get_legend()
        handles = legend.legend_handles
        assert [(matplotlib.colors.to_hex(h.get_color()), h.get_marker()) for h in handles] \
            == [(c, m) for c, m in zip(colors, markers)]
    finally:
        plt.close(fig)


def test_a_strategy_keeps_its_style_across_figures():
    alone = plots.curve_styles(["RR.Top4"])["RR.Top4"]
    together = plots.curve_styles(["Pass@N", "Maj1@N", "RR.Top4"])["RR.Top4"]
    assert alone == together == plots.STRATEGY_STYLES["RR.TopK"]
    assert plots.strategy("W.RR.Maj8") == "W.RR.MajK" and plots.strategy("Maj1@N") == "Maj1@N"


def test_bands_are_bootstrap_intervals_around_the_points_and_drawn_as_bars():
    problems = [_problem(f"p{i}", [i % 2 == 0, i % 3 == 0, False, True, False])
                for i in range(12)]
    curves = plots.accuracy_vs_n(problems, ["Pass@N", "Maj1@N", "absent"], repeats=4, seed=3)
    without = plots.accuracy_vs_n(problems, ["Pass@N", "Maj1@N", "absent"], repeats=4, seed=3,
                                  num_bootstrap=0)
    assert {k: v for k, v in curves.items() if k != "bands"} == without  # points unchanged
    for name in ("Pass@N", "Maj1@N"):
        for value, (low, high) in zip(curves[name], curves["bands"][name]):
            assert low <= value <= high
    # At N = 5 every problem's full set is drawn once: a real spread across problems.
    low, high = curves["bands"]["Maj1@N"][-1]
    assert low < curves["Maj1@N"][-1] < high
    assert all(math.isnan(lo) and math.isnan(hi) for lo, hi in curves["bands"]["absent"])
    fig = plots.accuracy_figure(curves)
    try:
        ax, = fig.axes
        assert len(ax.collections) == 2  # one set of interval bars per drawn curve
        lines = {line.get_label(): line for line in ax.get_lines()}
        for bars, name in zip(ax.collections, ["Pass@N", "Maj1@N"]):
            assert matplotlib.colors.to_hex(bars.get_color()[0]) == \
                matplotlib.colors.to_hex(lines[name].get_color())
            # A vertical bar from the low to the high end through each point of the curve.
            segments = bars.get_segments()
            assert [seg[0][0] for seg in segments] == pytest.approx(lines[name].get_xdata())
            assert all(seg[0][0] == seg[1][0] for seg in segments)
            np.testing.assert_allclose([(seg[0][1], seg[1][1]) for seg in segments],
                                       100 * np.array(curves["bands"][name]))
        assert [t.get_text() for t in fig.texts] == [plots.INTERVAL_NOTE]
    finally:
        plt.close(fig)


def test_equal_curves_stay_apart():
    """W.RR and W.RR.MajK coincide whenever the top cluster is also the largest: their
    points and interval bars must not fall on each other (the report's figures once drew
    one line over the other and mixed their bands into one colour)."""
    values, band = [0.5, 0.25, 0.0, 0.0], [[0.1, 0.8], [0.0, 0.5], [0.0, 0.2], [0.0, 0.1]]
    names = ["Pass@N", "Maj1@N", "RR.Top4", "RR.All", "W.RR", "W.RR.Maj4"]
    curves = {"n": [1, 2, 4, 6], **{name: list(values) for name in names},
              "bands": {name: band for name in names}}
    fig = plots.accuracy_figure(curves)
    try:
        ax, = fig.axes
        fig.canvas.draw()
        to_pixels = ax.transData.transform
        points = [to_pixels(np.column_stack([line.get_xdata(), line.get_ydata()]))
                  for line in ax.get_lines()]
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                gaps = np.abs(points[i][:, 0] - points[j][:, 0])
                # Apart by more than a marker's width (ms=5 points at 120 dpi: 8 pixels) at
                # every N, so each marker and each bar can be seen.
                assert gaps.min() > 8, (names[i], names[j], gaps)
        # Neighbours at one N never cross into the next N's group either.
        xs = sorted(x for p in points for x in p[:, 0])
        groups = [xs[k:k + len(names)] for k in range(0, len(xs), len(names))]
        assert all(a[-1] < b[0] for a, b in zip(groups, groups[1:]))
    finally:
        plt.close(fig)


def test_dodge_is_centred_and_fits_between_the_ns():
    assert plots.dodge([1, 2, 4], 1) == [1.0] and plots.dodge([1, 2], 0) == []
    factors = plots.dodge([1, 2, 4, 6], 7)
    logs = np.log2(factors)
    assert logs.sum() == pytest.approx(0) and np.all(np.diff(logs) > 0)
    assert logs[-1] - logs[0] == pytest.approx(0.4 * np.log2(6 / 4))  # the 4 -> 6 gap
    assert np.ptp(np.log2(plots.dodge([1, 2], 2))) == pytest.approx(0.25)  # at most 1/4 octave
