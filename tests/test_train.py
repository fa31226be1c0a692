"""The real CLI (`python -m mathft_jax.train`) fails fast with one line on bad configuration."""

import os

from tests import cli

BASE = ["--gin_file=gin_configs/models/tiny.gin", "--gin_file=gin_configs/runs/sft.gin"]


def _cli(*flags):
    return cli.run("train", *BASE, *flags)


_one_error_line = cli.one_error_line


def test_missing_required_binding_is_named():
    line = _one_error_line(_cli("--gin.MIXTURE_OR_TASK_NAME='x'", "--gin.TRAIN_STEPS=1"))
    assert "MODEL_DIR" in line


def test_unknown_gin_binding():
    line = _one_error_line(_cli("--gin.MODEL_DIR='/tmp/x'", "--gin.MIXTURE_OR_TASK_NAME='x'",
                                "--gin.TRAIN_STEPS=1", "--gin.train.bogus_arg=3"))
    assert "bogus_arg" in line


def test_unknown_task_and_unwritable_model_dir(tmp_path):
    line = _one_error_line(_cli(f"--gin.MODEL_DIR='{tmp_path / 'run'}'",
                                "--gin.MIXTURE_OR_TASK_NAME='no_such_task_xyz'",
                                "--gin.TRAIN_STEPS=1"))
    assert "unknown SeqIO task or mixture 'no_such_task_xyz'" in line
    if os.geteuid() == 0:
        unwritable = "/proc/mathft_run"  # root ignores file modes; /proc refuses new dirs
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        unwritable = str(locked / "run")
    line = _one_error_line(_cli(f"--gin.MODEL_DIR='{unwritable}'",
                                "--gin.MIXTURE_OR_TASK_NAME='no_such_task_xyz'",
                                "--gin.TRAIN_STEPS=1"))
    assert f"MODEL_DIR {unwritable} is not writable" in line
