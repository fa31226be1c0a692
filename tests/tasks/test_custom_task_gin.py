"""The path of docs/custom_tasks.md: a GSM8K-style JSONL trained with nothing but a gin file."""

import json
from pathlib import Path

import gin
import pytest
import seqio

from tests.tasks.conftest import check_prefix_lm_batches

REPO = Path(__file__).resolve().parents[2]
GIN_FILE = REPO / "gin_configs" / "experiments" / "gsm8k_jsonl_sft.gin"


@gin.configurable
def _probe(name):
    return name


def _gsm8k_rows(n):
    return [{"question": f"Ann has {i} pens and gets {i + 3} more. How many now?",
             "answer": f"{i} + {i + 3} = <<{i}+{i + 3}={2 * i + 3}>>{2 * i + 3}.\n"
                       f"#### {2 * i + 3}"} for i in range(n)]


def test_gin_file_registers_task_and_yields_batches(tmp_path):
    gin_utils = pytest.importorskip("mathft_jax.gin_utils")
    for split, n in (("train", 12), ("test", 4)):
        (tmp_path / f"{split}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in _gsm8k_rows(n)))
    gin.clear_config()
    try:
        gin_utils.parse_config([str(GIN_FILE)], [
            f"GSM8K_TRAIN = '{tmp_path / 'train.jsonl'}'",
            f"GSM8K_TEST = '{tmp_path / 'test.jsonl'}'",
            f"MODEL_DIR = '{tmp_path / 'run'}'", "TRAIN_STEPS = 1",
            # The trainer receives the task name through the same macro:
            "tests.tasks.test_custom_task_gin._probe.name = %MIXTURE_OR_TASK_NAME"])
        gin_utils.finalize()
        assert gin.query_parameter("train.mixture_or_task_name") is not None
        name = _probe()
        assert name == "gsm8k_sft" and _probe() == name
        task = seqio.get_mixture_or_task(name)
        assert set(task.splits) == {"train", "test"}
        ex = check_prefix_lm_batches(name, "train", {"inputs": 192, "targets": 320})
        assert ex["answer"].numpy().decode() == "3"
        assert ex["targets_pretokenized"].numpy().decode().endswith(
            "The answer is $\\boxed{3}$.")
    finally:
        gin.clear_config()
