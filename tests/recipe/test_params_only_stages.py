"""A finished recipe training stage keeps its final checkpoint params-only
(`RecipeSettings.keep_optimizer_state = False`, the default): the stages after it (a
generator stage started from it, sampling its successor) load it, it is about a third of the
step before it (which a killed stage resumes from, so that one keeps its optimizer state),
a rerun skips it, and a rerun of the stage itself (killed after the final save,
before its manifest said complete) returns at once instead of resuming a training state.

The recipe's own stages on the toy sums fixture (`tests/evaluator/toy_task.py`, as
`toy_recipe.gin`), with step counts cut to a few."""

import json
import os

import pytest

from mathft_jax.recipe import paper, runner
from mathft_jax.recipe.settings import RecipeSettings
from tests.evaluator import toy_task


def _settings(**kw) -> RecipeSettings:
    return RecipeSettings(
        model_config=toy_task.MODEL, generation_task=toy_task.TASK, terse_task=toy_task.TASK,
        eval_task=toy_task.TASK, label_words=toy_task.LABELS, sft_steps=6, warmup_steps=1,
        sft_learning_rate=1e-2, second_generator_steps=2, test_problems=2, test_samples=1,
        max_new_tokens=4, sequence_length=64, decode_batch_size=2, **kw)


def _run(run_dir, targets, **kw):
    lines = []
    runner.run_stages(paper.stages(_settings(**kw), lambda *a: {}), str(run_dir),
                      log=lines.append, targets=targets)
    return lines


def _tree_bytes(folder) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _kept(folder) -> list:
    return sorted(p.name for p in (folder / "checkpoints").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def slim(tmp_path_factory):
    """Two checkpoints kept per stage (the default keeps the final one only), to compare the
    final step with the one before it. sft_detailed saves steps 2, 4, 6; control 1, 2."""
    run_dir = tmp_path_factory.mktemp("params_only") / "run"
    _run(run_dir, ("test_control",), keep_checkpoints=2)
    return run_dir


def test_the_final_checkpoint_is_params_only_and_a_third_of_the_size(slim):
    for name, kept in (("sft_detailed", ["4", "6"]), ("control", ["1", "2"])):
        assert _kept(slim / name) == kept
        before, final = (slim / name / "checkpoints" / step for step in kept)
        assert sorted(p.name for p in final.iterdir() if p.is_dir()) == ["meta", "params"]
        assert (before / "opt_state").is_dir()
        meta = json.loads((final / "meta" / "metadata").read_text())
        assert meta["optimizer_state"] is False and meta["step"] == int(kept[1])
        ratio = _tree_bytes(final) / _tree_bytes(before)
        assert ratio < 0.45, (name, ratio)  # params alone: AdamW's two moments left out


def test_later_stages_load_it(slim):
    control = json.loads((slim / "control" / "manifest.json").read_text())
    assert control["complete"] and control["outputs"]["steps"] == 2
    # control started from sft_detailed's params-only step (trainer init_checkpoint), and
    # test_control sampled from control's (infer through params_source).
    rows = (slim / "test_control" / paper.CANDIDATES).read_text().splitlines()
    assert len(rows) == 2 * (1 + 1)  # 2 problems x (greedy + 1 sample)


def test_a_rerun_skips_the_finished_stages(slim):
    before = _tree_bytes(slim / "sft_detailed")
    lines = _run(slim, ("test_control",), keep_checkpoints=2)
    assert [ln.split(": ", 1)[1] for ln in lines[1:]] == ["done, skipped"] * 3
    assert _tree_bytes(slim / "sft_detailed") == before


def test_a_stage_killed_after_its_final_save_finishes_without_training(slim):
    """The final step is saved, then the job dies before the manifest says complete: the
    rerun continues the stage, whose trainer finds its finished params-only step."""
    path = slim / "sft_detailed" / runner.MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "complete": False}))
    lines = _run(slim, ("sft_detailed",), keep_checkpoints=2)
    assert lines[1:] == ["[1/1] sft_detailed: continuing an interrupted run",
                         "[1/1] sft_detailed: started", lines[3]]
    assert lines[3].startswith("[1/1] sft_detailed: finished in ")
    again = json.loads(path.read_text())
    assert again["complete"] and again["fingerprint"] == manifest["fingerprint"]
    assert again["outputs"]["steps"] == 6
    assert _kept(slim / "sft_detailed") == ["4", "6"]
    assert not os.path.exists(slim / "sft_detailed" / "broken_checkpoints")
