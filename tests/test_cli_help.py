"""What a new user sees: `--help` of every entry point, the unknown-flag hint, and quiet
start-up logs (`mathft_jax.cli_help`, `mathft_jax.startup`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mathft_jax import cli_help, gin_utils, startup
from tests import cli

REPO = Path(__file__).resolve().parents[1]
# Every entry point and the macros a run of it must set, written out here on purpose
# (the help text is built from cli_help.ENTRY_POINTS; this list is the contract).
REQUIRED = {
    "train": ("MODEL_DIR", "MIXTURE_OR_TASK_NAME", "TRAIN_STEPS", "MODEL_CONFIG"),
    "infer": ("CHECKPOINT", "MIXTURE_OR_TASK_NAME", "OUTPUT_FILE", "MODEL_CONFIG"),
    "score": ("CHECKPOINT", "CANDIDATES_FILE", "OUTPUT_FILE", "MODEL_CONFIG"),
    "evaluate": ("CANDIDATES_FILE", "OUTPUT_DIR"),
    "export": ("OUTPUT_DIR",),
    "recipe": ("RUN_DIR",),
    "train_sequence": ("MODEL_DIR", "EVALUATOR_CANDIDATES"),
}
# Where each entry point's required macros are declared (`NAME = %gin.REQUIRED`).
GIN_FILES = {
    "infer": "gin_configs/runs/infer.gin", "score": "gin_configs/runs/score.gin",
    "evaluate": "gin_configs/runs/evaluate.gin", "export": "gin_configs/runs/export.gin",
    "recipe": "gin_configs/recipe/quick.gin",
    "train_sequence": "gin_configs/experiments/synthetic_multitask.gin",
}


def _declared_required(path: str) -> set[str]:
    text = (REPO / path).read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*=\s*%gin\.REQUIRED", text, re.M))


def test_every_entry_point_is_covered():
    assert set(REQUIRED) == set(cli_help.ENTRY_POINTS)
    for entry, path in GIN_FILES.items():
        assert _declared_required(path) <= set(REQUIRED[entry]), (entry, path)


@pytest.mark.parametrize("entry", sorted(REQUIRED))
def test_help_names_the_gin_files_the_required_macros_and_an_example(entry):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                              "JAX_PLATFORMS")}
    proc = subprocess.run([sys.executable, "-m", f"mathft_jax.{entry}", "--help"], cwd=REPO,
                          env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""  # no accelerator probes, no truncated error line
    out = proc.stdout
    assert out.startswith(f"usage: python -m mathft_jax.{entry} --gin_file=")
    required = out.split("required settings")[1].split("\n\n")[0]
    for macro in REQUIRED[entry]:
        assert re.search(rf"^  {macro} +\S", required, re.M), (macro, required)
    assert "gin files a run needs" in out and ".gin" in out
    example = out.split("example:\n")[1].split("\n\n")[0]
    assert example.strip().startswith(f"python -m mathft_jax.{entry} --gin_file=")
    assert "exit status: 0 done; 2 bad input" in out


def test_help_lists_the_run_files_defaults():
    text = cli_help.format_help("infer")
    assert "  NUM_SAMPLES = 0\n" in text and "  MAX_NEW_TOKENS = 512\n" in text
    assert "CHECKPOINT = %gin.REQUIRED" not in text


def test_run_main_answers_help_without_running(capsys):
    def train():  # the entry point's name is what selects its help
        raise AssertionError("must not run")
    assert gin_utils.run_main(train, ["--gin.X=1", "-h"]) is None
    assert capsys.readouterr().out == cli_help.format_help("train")


def test_an_unknown_flag_ends_with_the_help_hint():
    with pytest.raises(gin_utils.ConfigError) as caught:
        gin_utils.parse_flags(["--gin_file=a.gin", "--model_dir=x"], "infer")
    assert str(caught.value).startswith("unknown flag '--model_dir=x'")
    assert str(caught.value).endswith(f"{cli_help.help_hint('infer')}")
    assert "python -m mathft_jax.infer --help" in cli_help.help_hint("infer")


def test_an_unknown_flag_on_the_command_line_is_one_quiet_error_line():
    proc = cli.run("evaluate", "--bogus")
    line = cli.one_error_line(proc)
    assert line.endswith("run `python -m mathft_jax.evaluate --help` for the gin files, "
                         "the required settings and an example")
    assert proc.stderr.strip() == line


# ------------------------------------------------------------------------------ start-up


def test_the_entry_point_is_read_from_the_interpreter_command_line():
    assert startup.entry_point(["python", "-m", "mathft_jax.recipe", "--gin_file=x"]) == "recipe"
    assert startup.entry_point(["python3", "-u", "-X", "dev", "-m",
                                "mathft_jax.train_sequence"]) == "train_sequence"
    assert startup.entry_point(["python", "-mmathft_jax.score"]) == "score"
    for other in (["python", "-m", "pytest", "-m", "mathft_jax.train"],
                  ["python", "-m", "mathft_jax.kernels.native_build"],
                  ["python", "script.py", "-m", "mathft_jax.train"], ["python"]):
        assert startup.entry_point(other) is None, other


def test_quiet_defaults_never_override_the_user():
    env = {}
    assert startup.quiet_environment(env, has_accelerator=False) == {
        "TF_CPP_MIN_LOG_LEVEL": "2", "JAX_PLATFORMS": "cpu"}
    gpu = {}
    assert startup.quiet_environment(gpu, has_accelerator=True) == {"TF_CPP_MIN_LOG_LEVEL": "2"}
    user = {"TF_CPP_MIN_LOG_LEVEL": "0", "JAX_PLATFORMS": "tpu"}
    assert startup.quiet_environment(user, has_accelerator=False) == {}
    assert user == {"TF_CPP_MIN_LOG_LEVEL": "0", "JAX_PLATFORMS": "tpu"}
    assert "JAX_PLATFORMS" not in startup.quiet_environment(
        {"JAX_PLATFORM_NAME": "gpu"}, has_accelerator=False)


NOISY = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796612235.038138    4933 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1796612245.236531    4933 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty. use identity normalization.",
]
KEPT = ["step 10/20 | loss 1.0", "E0000 00:00:1.0 1 some_op.cc:1] a real TensorFlow error",
        "warning: SCORES_FILE scores 3 of 4 sampled candidates"]


def test_filter_chunk_drops_whole_noise_lines_only():
    data = "\n".join(NOISY[:2] + KEPT[:1] + NOISY[2:] + KEPT[1:]) + "\n"
    passed, held = startup.filter_chunk(data.encode())
    assert passed.decode() == "\n".join(KEPT) + "\n" and held == b""
    # A partial line that may become noise waits for its end; a progress bar does not.
    assert startup.filter_chunk(b"ok\nI0000 00:00:1 2 cudart_stub") == (
        b"ok\n", b"I0000 00:00:1 2 cudart_stub")
    assert startup.filter_chunk(b"\r 40%|####") == (b"\r 40%|####", b"")


@pytest.mark.parametrize("ending", ["exit", "os._exit"])
def test_the_stderr_filter_passes_everything_else_in_order(ending):
    """Native writes to fd 2 and Python's own stderr, through the filter, then the process
    ends normally or by os._exit after stopping the filter (what run_main does)."""
    lines = NOISY[:1] + KEPT[:1] + NOISY[1:3] + KEPT[1:] + NOISY[3:]
    end = "startup.stop_filter(); os._exit(3)" if ending == "os._exit" else "sys.exit(3)"
    script = textwrap.dedent(f"""
        import os, sys
        from mathft_jax import startup
        startup.quiet_start({{}})
        for line in {lines!r}:
            os.write(2, (line + "\\n").encode())
        os.write(2, b"\\r 50%|#####")
        print("error: the last line", file=sys.stderr, flush=True)
        {end}
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.decode() == "\n".join(KEPT) + "\n\r 50%|#####error: the last line\n"


def test_a_child_holding_the_filtered_stderr_does_not_hold_up_the_exit():
    script = textwrap.dedent("""
        import os, subprocess, sys, time
        from mathft_jax import startup
        startup.quiet_start({})
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        print("error: done", file=sys.stderr, flush=True)
        start = time.monotonic()
        startup.stop_filter()
        print(time.monotonic() - start, flush=True)
        child.kill()
        os._exit(2)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (2, "error: done\n")
    assert float(proc.stdout) < 1.0  # not the 2 s time-out of waiting for an end of file


def test_mathft_quiet_0_leaves_stderr_alone():
    script = ("import os; from mathft_jax import startup; startup.quiet_start(os.environ); "
              f"os.write(2, {NOISY[0]!r}.encode())")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "MATHFT_QUIET": "0"},
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == NOISY[0]
