import pytest
import seqio

import tasks  # noqa: F401  (registers the tasks)
from tests.data.conftest import REAL_MATH_DIR
from tests.tasks.conftest import check_prefix_lm_batches

pytestmark = pytest.mark.skipif(not (REAL_MATH_DIR / "train.jsonl").is_file(),
                                reason=f"MATH data not found at {REAL_MATH_DIR}")
LENGTHS = {"inputs": 512, "targets": 512}


@pytest.mark.parametrize("name", ["math_sft", "math_eval", "math_fewshot"])
def test_task_batches_and_passthrough(name, monkeypatch):
    monkeypatch.setenv("MATHFT_MATH_DIR", str(REAL_MATH_DIR))
    ex = check_prefix_lm_batches(name, "test", LENGTHS)
    assert ex["problem_id"].numpy().decode() == "test/precalculus/807.json"
    assert ex["answer"].numpy() and ex["level"].numpy() and ex["subject"].numpy()
    prompt = ex["inputs_pretokenized"].numpy().decode()
    assert prompt.endswith("\n\nSolution:\n")
    assert prompt.count("Problem:\n") == (5 if name == "math_fewshot" else 1)


def test_long_prompt_keeps_its_end(monkeypatch):
    """A prompt longer than the inputs length is cut from the front, not the back."""
    monkeypatch.setenv("MATHFT_MATH_DIR", str(REAL_MATH_DIR))
    task = seqio.get_mixture_or_task("math_fewshot")
    ex = next(iter(task.get_dataset({"inputs": 32, "targets": 64}, split="test",
                                    shuffle=False)))
    vocab = task.output_features["inputs"].vocabulary
    assert len(ex["inputs"]) == 32
    assert vocab.decode(ex["inputs"].numpy().tolist()).endswith("\n\nSolution:\n")


def test_split_sizes(monkeypatch):
    monkeypatch.setenv("MATHFT_MATH_DIR", str(REAL_MATH_DIR))
    sft = seqio.get_mixture_or_task("math_sft").source
    ev = seqio.get_mixture_or_task("math_eval").source
    assert sft.num_input_examples("train") == 12000
    assert sft.num_input_examples("test") == 500
    assert ev.num_input_examples("train") == 11998  # the two problems without an answer


def test_the_options_name_the_folder_and_split(tmp_path, monkeypatch):
    """`math.data_dir` first, then `math_data_dir` (gin: `mathft_jax.data.math_data_dir.path`),
    then $MATHFT_MATH_DIR; the split configuration decides the split."""
    import json

    from mathft_jax.data import task_options
    from tasks import math_tasks
    small = tmp_path / "small"
    small.mkdir()
    for split, count in (("train", 3), ("test", 2)):
        (small / f"{split}.jsonl").write_text("".join(json.dumps({
            "unique_id": f"{split}/algebra/{k}.json", "problem": f"{k}+1?", "level": "Level 1",
            "type": "Algebra", "solution": f"$\\boxed{{{k + 1}}}$"}) + "\n" for k in range(count)))
    monkeypatch.setenv("MATHFT_MATH_DIR", str(REAL_MATH_DIR))
    original = task_options.MathTaskOptions(split_config="original")
    with task_options.replaced(math=original, math_data_dir=str(small)):
        assert len(math_tasks.math_records("test")) == 2
        assert math_tasks._reads()["files"] == [str(small)]
        assert math_tasks._reads()["options"]["split_config"] == "original"
    other = task_options.MathTaskOptions(split_config="original", data_dir=str(small))
    with task_options.replaced(math=other, math_data_dir="/nowhere"):
        assert len(math_tasks.math_records("train")) == 3
    with task_options.replaced(math=original):
        assert len(math_tasks.math_records("test")) == 5000
