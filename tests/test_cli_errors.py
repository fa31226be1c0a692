"""Every entry point (train, infer, evaluate, export), run as a user would, answers bad input,
bad configuration and a failing machine with one `error:` line naming the file or setting and
the cause: exit 2 for input/configuration, 3 for the environment (disk full)."""

from __future__ import annotations

import json
import resource
import signal

import pytest

from tests import cli

TRAIN = ["--gin_file=gin_configs/models/tiny.gin", "--gin_file=gin_configs/runs/sft.gin"]
INFER = ["--gin_file=gin_configs/models/tiny.gin", "--gin_file=gin_configs/runs/infer.gin",
         "--gin.CHECKPOINT='random_init'", "--gin.MIXTURE_OR_TASK_NAME='no_task_needed'"]
EVALUATE = ["--gin_file=gin_configs/runs/evaluate.gin"]
TINY_TRAIN_GIN = """
import tests.training.tiny_task
MIXTURE_OR_TASK_NAME = 'mathft_test_tiny_sft'
VOCAB_SIZE = 320
SEQUENCE_LENGTH = 64
BATCH_SIZE = 4
train.checkpoint_every = 2
train.eval_every = 0
"""


def _gsm8k_train(tmp_path, train_lines):
    (tmp_path / "train.jsonl").write_text("".join(line + "\n" for line in train_lines))
    return cli.run("train", "--gin_file=gin_configs/experiments/gsm8k_jsonl_sft.gin",
                   f"--gin.GSM8K_TRAIN='{tmp_path / 'train.jsonl'}'", "--gin.GSM8K_TEST=None",
                   f"--gin.MODEL_DIR='{tmp_path / 'run'}'", "--gin.TRAIN_STEPS=1")


# ------------------------------------------------------------------------ config typos


def test_misspelled_macro_on_the_command_line_is_named_with_a_suggestion(tmp_path):
    line = cli.one_error_line(cli.run("infer", *INFER, f"--gin.OUTPUT_FILE='{tmp_path}/c.jsonl'",
                                      "--gin.NUM_SAMPLE=7"))
    assert "NUM_SAMPLE (set on the command line) is not read by anything" in line
    assert "did you mean NUM_SAMPLES?" in line
    line = cli.one_error_line(cli.run("evaluate", *EVALUATE, "--gin.PASS_K=(1,)",
                                      f"--gin.CANDIDATES_FILE='{tmp_path}/c.jsonl'",
                                      f"--gin.OUTPUT_DIR='{tmp_path}/out'"))
    assert "did you mean PASS_KS?" in line
    assert not (tmp_path / "out").exists()


def test_misspelled_macro_in_a_user_gin_file_is_named(tmp_path):
    user = tmp_path / "mine.gin"
    user.write_text("LEARNING_RAT = 3e-4\n")
    line = cli.one_error_line(cli.run("train", *TRAIN, f"--gin_file={user}",
                                      f"--gin.MODEL_DIR='{tmp_path}/run'",
                                      "--gin.MIXTURE_OR_TASK_NAME='x'", "--gin.TRAIN_STEPS=1"))
    assert f"LEARNING_RAT (set in {user})" in line and "did you mean LEARNING_RATE?" in line


# ------------------------------------------------------------------- invalid settings


def test_invalid_sizes_fail_before_any_file_is_created(tmp_path):
    out = tmp_path / "sub" / "c.jsonl"
    line = cli.one_error_line(cli.run("infer", *INFER, f"--gin.OUTPUT_FILE='{out}'",
                                      "--gin.NUM_SAMPLES=-2", "--gin.MAX_NEW_TOKENS=0"))
    assert "infer.num_samples must be >= 0, got -2" in line
    assert "infer.max_new_tokens must be >= 1, got 0" in line
    assert not (tmp_path / "sub").exists()  # no output, no .progress holding the bad value
    line = cli.one_error_line(cli.run("train", *TRAIN, f"--gin.MODEL_DIR='{tmp_path}/run'",
                                      "--gin.MIXTURE_OR_TASK_NAME='x'", "--gin.TRAIN_STEPS=1",
                                      "--gin.BATCH_SIZE=0", "--gin.SEQUENCE_LENGTH=-5"))
    assert "train.batch_size must be >= 1, got 0" in line
    assert "train.sequence_length must be >= 2, got -5" in line
    assert not (tmp_path / "run").exists()


def test_an_invalid_task_option_fails_at_the_edge_before_any_file_is_created(tmp_path):
    """The entry point reads the task options from gin (`gin_utils.task_options_from_gin`)
    before it starts: a bad one is named at once, not when the task is first read."""
    line = cli.one_error_line(cli.run("train", *TRAIN, f"--gin.MODEL_DIR='{tmp_path}/run'",
                                      "--gin.MIXTURE_OR_TASK_NAME='synthetic_sft'",
                                      "--gin.TRAIN_STEPS=1",
                                      "--gin.tasks.synthetic_task_options.levels=(0, 1)"))
    assert "task options: levels must be a non-empty subset of (1, 2, 3, 4, 5), got (0, 1)" \
        in line
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------- files and directories


def test_evaluate_names_missing_inputs_and_an_output_dir_under_a_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    line = cli.one_error_line(cli.run(
        "evaluate", *EVALUATE, f"--gin.CANDIDATES_FILE='{tmp_path}/missing.jsonl'",
        f"--gin.OUTPUT_DIR='{tmp_path}/plain/out'"))
    assert f"evaluate.candidates_file {tmp_path}/missing.jsonl: no such file" in line
    assert f"evaluate.output_dir {tmp_path}/plain/out: {tmp_path}/plain is a file" in line


def test_evaluate_malformed_record_and_unmatched_scores(tmp_path):
    row = {"version": 1, "problem_id": "p1", "sample_index": 0, "decoding": "sample",
           "text": r"\boxed{1}", "gold_answer": "1"}
    (tmp_path / "c.jsonl").write_text(json.dumps(row) + "\n{oops\n")
    flags = [f"--gin.CANDIDATES_FILE='{tmp_path}/c.jsonl'", f"--gin.OUTPUT_DIR='{tmp_path}/o'"]
    line = cli.one_error_line(cli.run("evaluate", *EVALUATE, *flags))
    assert f"{tmp_path}/c.jsonl:2: invalid JSON" in line
    (tmp_path / "c.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "s.jsonl").write_text(json.dumps(
        {"version": 1, "problem_id": "other", "sample_index": 0, "score": 0.5}) + "\n")
    line = cli.one_error_line(cli.run("evaluate", *EVALUATE, *flags,
                                      f"--gin.SCORES_FILE='{tmp_path}/s.jsonl'"))
    assert f"{tmp_path}/s.jsonl: its scores match none of the 1 sampled candidates" in line
    assert not (tmp_path / "o" / "report.json").exists()


def test_infer_and_export_name_an_output_under_a_regular_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    line = cli.one_error_line(cli.run("infer", *INFER,
                                      f"--gin.OUTPUT_FILE='{tmp_path}/plain/c.jsonl'"))
    assert f"infer.output_file {tmp_path}/plain/c.jsonl: {tmp_path}/plain is a file" in line
    line = cli.one_error_line(cli.run(
        "export", "--gin_file=gin_configs/runs/export.gin", "--gin.PRETRAINED=None",
        f"--gin.CHECKPOINT='{tmp_path}/no_run'", f"--gin.OUTPUT_DIR='{tmp_path}/plain/x'"))
    assert f"export.output_dir {tmp_path}/plain/x: {tmp_path}/plain is a file" in line
    assert f"export.checkpoint {tmp_path}/no_run: no such file or directory" in line


# ------------------------------------------------------------------- training data


def test_train_malformed_record_and_empty_file_name_the_file(tmp_path):
    good = json.dumps({"question": "1+1?", "answer": "1+1=2\n#### 2"})
    line = cli.one_error_line(_gsm8k_train(tmp_path, [good, "{broken"]))
    assert f"{tmp_path}/train.jsonl:2: bad JSON" in line
    line = cli.one_error_line(_gsm8k_train(tmp_path, []))
    assert f"{tmp_path}/train.jsonl: no records" in line and "no split" not in line


# --------------------------------------------------------------------- environment


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_during_a_checkpoint_save_is_one_line_and_exit_3(tmp_path):
    """Files may not grow past 40 kB (RLIMIT_FSIZE, with SIGXFSZ ignored): the first
    checkpoint's array files fail to write, as on a full disk."""
    (tmp_path / "tiny.gin").write_text(TINY_TRAIN_GIN)

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = cli.run("train", *TRAIN, f"--gin_file={tmp_path / 'tiny.gin'}",
                   f"--gin.MODEL_DIR='{tmp_path}/run'", "--gin.TRAIN_STEPS=2",
                   preexec_fn=small_files)
    line = cli.one_error_line(proc, status=3)
    assert f"cannot write step 2 to {tmp_path}/run/checkpoints" in line
    assert "File too large" in line
    assert len(proc.stderr.splitlines()) < 40, proc.stderr[-3000:]


# ------------------------------------------------------- cases that were tracebacks (issue 27)


def test_evaluate_on_a_byte_that_is_not_utf8_is_one_line_or_counted(tmp_path):
    row = {"version": 1, "problem_id": "p1", "sample_index": 0, "decoding": "sample",
           "text": r"\boxed{1}", "gold_answer": "1"}
    (tmp_path / "c.jsonl").write_bytes(json.dumps(row).encode() + b"\n"
                                       + json.dumps({**row, "sample_index": 1}).encode()
                                       .replace(b"boxed", b"box\xffed") + b"\n")
    flags = [f"--gin.CANDIDATES_FILE='{tmp_path}/c.jsonl'", f"--gin.OUTPUT_DIR='{tmp_path}/o'"]
    line = cli.one_error_line(cli.run("evaluate", *EVALUATE, *flags))
    assert line.startswith(f"error: {tmp_path}/c.jsonl:2: not UTF-8 text (byte 0xff at byte ")
    proc = cli.run("evaluate", *EVALUATE, *flags, "--gin.SKIP_MALFORMED=True")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "o" / "report.json").read_text())["counts"]["malformed"] == 1


def test_gin_include_cycles_name_the_files(tmp_path):
    (tmp_path / "self.gin").write_text(f'include "{tmp_path}/self.gin"\n')
    (tmp_path / "a.gin").write_text(f'include "{tmp_path}/b.gin"\n')
    (tmp_path / "b.gin").write_text(f'include "{tmp_path}/a.gin"\n')
    line = cli.one_error_line(cli.run("evaluate", f"--gin_file={tmp_path}/self.gin"))
    assert line == f"error: gin file {tmp_path}/self.gin includes itself (line 1)"
    line = cli.one_error_line(cli.run("evaluate", f"--gin_file={tmp_path}/a.gin"))
    assert line == (f"error: gin files include each other in a cycle: {tmp_path}/a.gin line 1 "
                    f"includes {tmp_path}/b.gin, {tmp_path}/b.gin line 1 includes "
                    f"{tmp_path}/a.gin")


def test_a_truncated_recipe_manifest_is_one_line(tmp_path):
    stage = tmp_path / "run" / "sft_detailed"
    stage.mkdir(parents=True)
    (stage / "manifest.json").write_text('{"version": 1, "stage": "sft_detailed", "fingerpr')
    line = cli.one_error_line(cli.run(
        "recipe", "--gin_file=tests/recipe/toy_recipe.gin", f"--gin.RUN_DIR='{tmp_path}/run'",
        "--gin.recipe.targets=('sft_detailed',)"))
    assert line.startswith(f"error: {stage}/manifest.json: not a readable stage manifest "
                           f"(Unterminated string")
    assert line.endswith("delete it to run that stage again")
    assert (stage / "manifest.json").read_text().endswith('"fingerpr')  # left as it was


def test_a_nan_loss_stops_training_before_it_is_saved(tmp_path):
    """Learning rate 1e30 on the tiny model: step 3's gradient norm is NaN (steps 1 and 2
    are finite; step 2 is saved); the run stops at the step-4 save naming step 3."""
    (tmp_path / "tiny.gin").write_text(TINY_TRAIN_GIN)
    proc = cli.run("train", *TRAIN, f"--gin_file={tmp_path / 'tiny.gin'}",
                   f"--gin.MODEL_DIR='{tmp_path}/run'", "--gin.TRAIN_STEPS=6",
                   "--gin.LEARNING_RATE=1e30", "--gin.WARMUP_STEPS=2", timeout=900)
    line = cli.one_error_line(proc)
    assert line.startswith(f"error: {tmp_path}/run: training diverged at step 3 (loss ")
    assert line.endswith("grad_norm nan): stopped before saving it; the newest checkpoint is "
                         "step 2 (lower the learning rate or check the data, then rerun)")
    steps = sorted(int(p.name) for p in (tmp_path / "run" / "checkpoints").iterdir()
                   if p.name.isdigit())
    assert steps == [2]
