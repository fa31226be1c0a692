"""The recipe's entry point (`recipe/__main__.py`): which stages it runs where, with which
targets and parallelism, the seeds' folders and aggregate, the lock over seeds, the refused
combinations and the lines it prints. The chain, the runner and the aggregate are replaced by
recorders (their own tests are test_stage_calls.py, test_runner.py, test_seeds_report.py)."""

import importlib
import types

import pytest

from mathft_jax import distributed
from mathft_jax.errors import ConfigError
from mathft_jax.recipe import paper, runner, scaling, seeds, table
from mathft_jax.recipe.settings import RecipeSettings
from mathft_jax.training import run_lock
from tests.training.tiny_run import CONFIG

main = importlib.import_module("mathft_jax.recipe.__main__")

SETTINGS = RecipeSettings(model_config=CONFIG, parallel_stages=3, seed=5)


@pytest.fixture
def calls(monkeypatch):
    """name -> the arguments of each call, in order; the chain is two stages named after the
    settings' seed ("a5", "b5"), the study adds one."""
    out: dict[str, list] = {}

    def record(name, result=None):
        def recorder(*args, **kw):
            out.setdefault(name, []).append((args, kw))
            return result(*args, **kw) if callable(result) else result
        return recorder

    def chain(s, report_fn):
        return [types.SimpleNamespace(name=f"{x}{s.seed}") for x in "ab"]

    class Lock:
        def release(self):
            out.setdefault("release", []).append(())

    monkeypatch.setattr(distributed, "maybe_initialize", record("initialize"))
    monkeypatch.setattr(paper, "stages", record("stages", chain))
    monkeypatch.setattr(scaling, "stages", record(
        "scaling", lambda *a: [types.SimpleNamespace(name="study")]))
    monkeypatch.setattr(runner, "run_stages", record(
        "run", lambda stages, run_dir, **kw: {st.name: {"dir": run_dir} for st in stages}))
    monkeypatch.setattr(seeds, "write", record("aggregate", "/runs/r/report/aggregate.md"))
    monkeypatch.setattr(run_lock, "take", record("lock", lambda *a, **kw: Lock()))
    return out


def _names(stages) -> list[str]:
    return [st.name for st in stages]


def test_one_run_runs_every_stage_of_the_chain_into_run_dir(calls, capsys):
    manifests = main.recipe(run_dir="/runs/r", settings=SETTINGS)
    assert manifests == {"a5": {"dir": "/runs/r"}, "b5": {"dir": "/runs/r"}}
    assert calls["initialize"] == [((), {})]
    assert calls["stages"] == [((SETTINGS, table.write), {})]
    ((stages, run_dir), kw), = calls["run"]
    assert _names(stages) == ["a5", "b5"] and run_dir == "/runs/r" and kw == {"parallel": 3}
    assert "lock" not in calls and "aggregate" not in calls and "scaling" not in calls
    assert capsys.readouterr().out == (
        "report: /runs/r/report/report.md (and report.json, PNG plots); every stage's outputs "
        "are in /runs/r/<stage>/\n")


def test_targets_run_only_those_and_say_where_they_are(calls, capsys):
    manifests = main.recipe(run_dir="/runs/r", settings=SETTINGS, targets=["b5"])
    assert set(manifests) == {"a5", "b5"}  # what run_stages returned
    ((stages, run_dir), kw), = calls["run"]
    assert _names(stages) == ["a5", "b5"] and run_dir == "/runs/r"
    assert kw == {"targets": ("b5",), "parallel": 3}
    assert capsys.readouterr().out == (
        "stages ['a5', 'b5'] are done; their outputs are in /runs/r/<stage>/\n")


def test_the_scaling_study_joins_the_chain_and_targets_its_report(calls, capsys):
    study = object()
    manifests = main.recipe(run_dir="/runs/r", settings=SETTINGS, scaling=study)
    assert set(manifests) == {"a5", "b5", "study"}
    assert calls["scaling"] == [((SETTINGS, study, main.scaling_report.write), {})]
    ((stages, _), kw), = calls["run"]
    assert _names(stages) == ["a5", "b5", "study"]
    assert kw == {"targets": ("scaling_report",), "parallel": 3}
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "stages ['a5', 'b5', 'study'] are done; their outputs are in " \
        "/runs/r/<stage>/"
    # The study's report line appears only when its report stage ran (here it did not).
    assert out.count("\n") == 1


def test_the_scaling_study_with_targets_keeps_them_and_names_its_report(calls, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(runner, "run_stages", lambda stages, run_dir, **kw: {
        "scaling_report": {}})
    main.recipe(run_dir="/runs/r", settings=SETTINGS, scaling=object(), targets=("a5",))
    assert capsys.readouterr().out.splitlines() == [
        "stages ['scaling_report'] are done; their outputs are in /runs/r/<stage>/",
        "scaling study: /runs/r/scaling_report/scaling.md (and scaling.json, scaling.png)"]


def test_a_scaling_run_passes_its_targets_through(calls):
    main.recipe(run_dir="/runs/r", settings=SETTINGS, scaling=object(), targets=["a5", "b5"])
    ((_, _), kw), = calls["run"]
    assert kw == {"targets": ("a5", "b5"), "parallel": 3}


def test_seeds_run_the_chain_once_per_seed_in_its_folder_and_aggregate(calls, capsys):
    out = main.recipe(run_dir="/runs/r", settings=SETTINGS, seeds=(2, 0))
    assert out == {2: {"a2": {"dir": "/runs/r/seed_2"}, "b2": {"dir": "/runs/r/seed_2"}},
                   0: {"a0": {"dir": "/runs/r/seed_0"}, "b0": {"dir": "/runs/r/seed_0"}}}
    # The settings' own chain first (unused with seeds), then each seed's.
    assert [(args[0].seed, args[1]) for args, _ in calls["stages"]] == [
        (5, table.write), (2, table.write), (0, table.write)]
    assert [(_names(a[0]), a[1], kw) for a, kw in calls["run"]] == [
        (["a2", "b2"], "/runs/r/seed_2", {"parallel": 3}),
        (["a0", "b0"], "/runs/r/seed_0", {"parallel": 3})]
    assert calls["lock"] == [(("/runs/r", "recipe.run_dir"), {"lock_name": "recipe.lock"})]
    assert calls["release"] == [()]
    (args, kw), = calls["aggregate"]
    assert kw == {} and args[:3] == ("/runs/r", (2, 0), SETTINGS) and args[3] is paper.rows
    assert args[4] == {2: {"a2": "/runs/r/seed_2/a2", "b2": "/runs/r/seed_2/b2"},
                       0: {"a0": "/runs/r/seed_0/a0", "b0": "/runs/r/seed_0/b0"}}
    assert capsys.readouterr().out.splitlines() == [
        "== seed 2 -> /runs/r/seed_2", "== seed 0 -> /runs/r/seed_0",
        "report over seeds (2, 0): /runs/r/report/aggregate.md (and aggregate.json); each "
        "seed's own report is in /runs/r/seed_<k>/report/"]


def test_the_lock_over_seeds_is_released_when_a_seed_fails(calls, monkeypatch):
    def fail(stages, run_dir, **kw):
        raise RuntimeError("stage failed")
    monkeypatch.setattr(runner, "run_stages", fail)
    with pytest.raises(RuntimeError, match="stage failed"):
        main.recipe(run_dir="/runs/r", settings=SETTINGS, seeds=(1,))
    assert calls["release"] == [()] and "aggregate" not in calls


def test_seeds_on_a_host_without_the_lock_run_and_release_nothing(calls, monkeypatch):
    monkeypatch.setattr(run_lock, "take", lambda *a, **kw: None)
    assert set(main.recipe(run_dir="/runs/r", settings=SETTINGS, seeds=(1,))) == {1}
    assert "release" not in calls


@pytest.mark.parametrize("kw, message", [
    ({"seeds": (0, 1), "targets": ("a5",)}, "recipe.targets and recipe.seeds cannot be combined"),
    ({"seeds": (0, 1), "scaling": object()}, "recipe.scaling and recipe.seeds cannot be "
     "combined"),
    ({"seeds": (0, 1, 0)}, r"recipe.seeds has repeats: \(0, 1, 0\)"),
])
def test_refused_combinations_run_nothing(calls, kw, message):
    # gin adds a line naming the configurable.
    with pytest.raises(ConfigError, match=f"^{message}\n"):
        main.recipe(run_dir="/runs/r", settings=SETTINGS, **kw)
    assert "run" not in calls and "lock" not in calls


@pytest.mark.parametrize("kw", [{"targets": ("a5",), "seeds": ()},
                                {"scaling": object(), "seeds": ()}, {"seeds": ()}])
def test_empty_seeds_are_one_run(calls, kw):
    main.recipe(run_dir="/runs/r", settings=SETTINGS, **kw)
    (_, run_dir), _ = calls["run"][0]
    assert run_dir == "/runs/r" and "lock" not in calls
