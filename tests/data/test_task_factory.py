import json

import pytest
import seqio

from mathft_jax.data import records
from mathft_jax.data import task_factory as tf_


def _jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_gsm8k_to_boxed():
    sol, ans = tf_.gsm8k_to_boxed("A <<2*3=6>>6 and 1,000 more.\n#### 1,006")
    assert sol == "A 6 and 1,000 more.\nThe answer is $\\boxed{1006}$." and ans == "1006"
    assert tf_.gsm8k_to_boxed("no final")[1] is None


def test_read_solution_file_boxed(tmp_path):
    path = _jsonl(tmp_path / "s.jsonl", [
        {"problem": "P1", "solution": r"so $\boxed{3}$."},
        {"problem": "P2", "solution": "no box", "answer": 7},
        {"problem": "P3", "solution": r"$\boxed{1}$", "id": "x-3", "type": "Algebra"},
    ])
    rows = tf_.read_solution_file(path, answer_field="answer", id_field="id", id_prefix="t/")
    assert [r["problem_id"] for r in rows] == ["t/1", "t/2", "x-3"]
    assert [r["answer"] for r in rows] == ["3", "7", "1"]
    assert rows[0]["inputs"] == "Problem:\nP1\n\nSolution:\n"
    assert rows[0]["targets"] == r"so $\boxed{3}$."
    assert rows[2]["subject"] == "Algebra"


@pytest.mark.parametrize("bad,message", [
    ("{broken", "bad JSON"),
    ({"problem": "P"}, "missing required field 'solution'"),
    ({"problem": ["P"], "solution": "s"}, "field 'problem' must be str"),
    ({"problem": "P", "solution": "no answer"}, "no final answer"),
])
def test_read_solution_file_errors(tmp_path, bad, message):
    good = {"problem": "P", "solution": r"$\boxed{1}$"}
    path = _jsonl(tmp_path / "s.jsonl", [good, bad, good])
    with pytest.raises(records.DataFormatError, match=f"s.jsonl:2: .*{message}"):
        tf_.read_solution_file(path)
    assert len(tf_.read_solution_file(path, on_error="skip")) == 2


def test_register_jsonl_sft_task_idempotent_and_replaceable(tmp_path):
    path = _jsonl(tmp_path / "g.jsonl", [{"question": "Q", "answer": "4 <<2+2=4>>\n#### 4"}])
    kwargs = dict(problem_field="question", solution_field="answer", solution_format="gsm8k")
    assert tf_.register_jsonl_sft_task("tf_test_task", path, **kwargs) == "tf_test_task"
    task = seqio.get_mixture_or_task("tf_test_task")
    tf_.register_jsonl_sft_task("tf_test_task", path, **kwargs)
    assert seqio.get_mixture_or_task("tf_test_task") is task  # same args: no-op
    tf_.register_jsonl_sft_task("tf_test_task", path, prompt_style="fewshot", **kwargs)
    assert seqio.get_mixture_or_task("tf_test_task") is not task
    assert task.splits == ("train",)
    with pytest.raises(ValueError, match="train_path"):
        tf_.register_jsonl_sft_task("tf_test_task", "")
    with pytest.raises(ValueError, match="solution_format"):
        tf_.read_solution_file(path, solution_format="latex")


class _BosBytes(seqio.ByteVocabulary):
    @property
    def bos_id(self):
        return 2


@pytest.mark.parametrize("vocab,inputs_length,want", [
    (_BosBytes(extra_ids=0), None, [2, 100, 101, 102]),
    (_BosBytes(extra_ids=0), 3, [2, 101, 102]),  # the prompt's front is cut, not BOS
])
def test_prepend_bos(vocab, inputs_length, want):
    import tensorflow as tf
    ds = tf.data.Dataset.from_tensors({"inputs": tf.constant([100, 101, 102], tf.int32)})
    features = {"inputs": seqio.Feature(vocab)}
    lengths = {"inputs": inputs_length} if inputs_length else None
    out = list(tf_.prepend_bos(ds, features, lengths).as_numpy_iterator())
    assert out[0]["inputs"].tolist() == want


def test_prepend_bos_needs_a_bos_id():
    import tensorflow as tf
    ds = tf.data.Dataset.from_tensors({"inputs": tf.constant([100], tf.int32)})
    from mathft_jax.errors import ConfigError
    with pytest.raises(ConfigError, match="no BOS id"):
        tf_.prepend_bos(ds, {"inputs": seqio.Feature(seqio.ByteVocabulary(extra_ids=0))})
