"""A recipe stage reruns when anything its task reads changes: a task option (bound in gin,
`tasks.synthetic_task_options.levels`, and read by the entry point's edge) or a data file,
and exactly the stages that read that task rerun, with what is downstream of them; an
unchanged rerun skips every stage.

The paper's own stages and fingerprints; each stage's work is replaced by a recorder (what
reruns is decided by the fingerprints alone), so the test costs no training."""

import dataclasses
import json
import os

import gin
import pytest

import tasks  # noqa: F401  (registers the synthetic tasks)
from mathft_jax import gin_utils
from mathft_jax.data import task_factory
from mathft_jax.recipe import paper, runner
from mathft_jax.recipe.settings import RecipeSettings
from tests.training.helpers import TINY

JSONL_TASK = "mathft_test_fingerprint_jsonl"
# The stages that read the terse SSFT task, and those downstream of them.
TERSE = ["sft_terse", "test_sft_terse", "graded_test_sft_terse", "eval_test_sft_terse",
         "report"]


def _write_problems(path, count: int) -> None:
    with open(path, "w") as f:
        for k in range(count):
            f.write(json.dumps({"problem": f"{k} + 1", "solution": f"\\boxed{{{k + 1}}}"})
                    + "\n")


@pytest.fixture
def levels():
    """Sets the synthetic tasks' levels, as an entry point does from
    `tasks.synthetic_task_options.levels` (`gin_utils.use_task_options_from_gin`)."""
    def bind(value):
        gin.clear_config()
        gin.parse_config([f"tasks.synthetic_task_options.levels = {value!r}"])
        gin_utils.use_task_options_from_gin()
    yield bind
    gin.clear_config()


def _run(run_dir, settings) -> list[str]:
    """Runs the paper's stages with recorders instead of their work; returns what ran."""
    ran = []

    def record(name):
        def run(folder, inputs):
            ran.append(name)
            return {}
        return run

    stages = [dataclasses.replace(st, run=record(st.name))
              for st in paper.stages(settings, lambda *a: {})]
    runner.run_stages(stages, str(run_dir), log=lambda _: None)
    return ran


def test_a_changed_task_option_or_data_file_reruns_exactly_the_stages_reading_it(
        tmp_path, levels):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _write_problems(train, 8)
    _write_problems(test, 4)
    task_factory.register_jsonl_sft_task(JSONL_TASK, str(train), str(test))
    # The detailed task and the sampled one read the JSONL files, the terse one the
    # synthetic options; the step evaluator and the verifier make every stage kind exist.
    settings = RecipeSettings(model_config=TINY, generation_task=JSONL_TASK,
                              eval_task=JSONL_TASK, terse_task="synthetic_sft_terse",
                              step_evaluator_steps=1, verifier_steps=1)
    run_dir = tmp_path / "run"
    levels((1,))
    everything = _run(run_dir, settings)
    assert len(everything) == len(paper.stages(settings, None)) and set(TERSE) <= set(
        everything)
    assert _run(run_dir, settings) == []  # unchanged: every stage skipped

    levels((3,))
    assert _run(run_dir, settings) == TERSE
    assert _run(run_dir, settings) == []

    _write_problems(train, 9)  # another size: the file's identity changed
    assert _run(run_dir, settings) == [s for s in everything if s != "sft_terse"]

    os.utime(test, ns=(0, 0))  # same bytes, another modification time
    rerun = _run(run_dir, settings)
    assert rerun == [s for s in everything if s != "sft_terse"]
    manifest = json.loads((run_dir / "sft_detailed" / runner.MANIFEST).read_text())
    assert manifest["settings"]["task_reads"]["files"][str(test)] == {"size": os.path.getsize(
        test), "mtime_ns": 0}
    terse = json.loads((run_dir / "sft_terse" / runner.MANIFEST).read_text())
    assert terse["settings"]["task_reads"]["options"]["levels"] == [3]
