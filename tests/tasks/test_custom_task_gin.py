"""The README's "Adding your own task": a GSM8K-style JSONL trained with only a gin file."""

import json
from pathlib import Path

import gin
import pytest
import seqio

from mathft_jax import gin_utils
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


def test_gin_file_alone_trains_on_the_jsonl(tmp_path):
    """The README's command, end to end: the real CLI trains on the user's files."""
    import os
    import subprocess
    import sys

    for split, n in (("train", 12), ("test", 4)):
        (tmp_path / f"{split}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in _gsm8k_rows(n)))
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "mathft_jax.train", f"--gin_file={GIN_FILE}",
           f"--gin.GSM8K_TRAIN='{tmp_path / 'train.jsonl'}'",
           f"--gin.GSM8K_TEST='{tmp_path / 'test.jsonl'}'",
           f"--gin.MODEL_DIR='{run_dir}'", "--gin.TRAIN_STEPS=2", "--gin.BATCH_SIZE=2",
           "--gin.SEQUENCE_LENGTH=256", "--gin.train.checkpoint_every=2"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "step 2/2" in done.stdout + done.stderr
    assert any(p.name.isdigit() for p in (run_dir / "checkpoints").iterdir())  # finished step
