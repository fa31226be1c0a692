"""An evaluator task says what it reads (`data.task_reads`), so a stage training on it reruns
when its candidates file, its settings or its generation task change; its vocabulary is found
although a pair task has no "targets" feature."""

import shutil

from mathft_jax.data.task_reads import task_identity
from mathft_jax.evaluator.tasks import register_evaluator_task

LIKE = "synthetic_sft"


def _register(path, **settings):
    return register_evaluator_task(name="task_reads_test", candidates_file=str(path),
                                   kind="pair", like_task=LIKE, **settings)


def test_the_identity_holds_the_settings_the_like_task_and_the_file(candidates, tmp_path):
    path = tmp_path / "candidates.jsonl"
    shutil.copy(candidates[0], path)
    identity = task_identity(_register(path))
    assert identity["task"] == "task_reads_test"
    assert identity["options"]["kind"] == "pair"
    assert identity["options"]["max_per_problem"] == 10
    assert identity["options"]["like_task"] == task_identity(LIKE)
    assert list(identity["files"]) == [str(path)]
    assert identity["vocabulary"] == {"configurable": "synthetic_vocabulary"}


def test_the_identity_changes_with_a_setting_or_the_file(candidates, tmp_path):
    path = tmp_path / "candidates.jsonl"
    shutil.copy(candidates[0], path)
    first = task_identity(_register(path))
    fewer = task_identity(_register(path, max_per_problem=4))
    assert fewer["options"]["max_per_problem"] == 4 and fewer != first
    assert task_identity(_register(path)) == first
    with open(path, "a") as f:
        f.write("\n")
    assert task_identity(_register(path))["files"] != first["files"]
