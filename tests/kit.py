"""The test kit: tiny model configs, the byte vocabulary, the tiny tasks (issue 26).

Tests build their models and tasks from here instead of writing their own copies:

    from tests import kit
    cfg = kit.tiny_config(vocab_size=64, head_dim=8)   # the tiny decoder, some fields changed
    kit.BYTE_MODEL                                     # the 1-layer model of the byte tasks
    kit.BYTES                                          # one token per byte (pad 0, eos 1, unk 2)

The tiny tasks are registered once, where they are defined: `tests.training.tiny_task`
(prefix-LM rows for the trainer), `tests.evaluator.toy_task` (boxed sums for the evaluator
pipeline; also imported by gin files) and INFER_TASK here (the decoding tests' problems,
registered on import: a gin file's `import tests.kit` registers it in a subprocess), with
INFER_SETTINGS, the `infer` arguments the decoding tests share. `recipe_command` and
`recipe_env` run the recipe's quick toy setting (RECIPE_GIN). `kill_holding_lock` leaves a
tool's stale output lock behind, as a SIGKILLed run does.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import seqio

from mathft_jax.models import ModelConfig

# The tiny decoder: 2 layers of width 64, 4 query heads over 2 KV heads of 16, 256 tokens;
# every other field is ModelConfig's default.
TINY_FIELDS = dict(vocab_size=256, num_layers=2, embed_dim=64, mlp_dim=128, num_heads=4,
                   num_kv_heads=2, head_dim=16)

# One token per byte: 0 pad, 1 EOS, 2 UNK, then the 256 bytes (259 ids).
BYTES = seqio.ByteVocabulary(extra_ids=0)


class CharVocab:
    """One token per character (its code point), except "$." which is one token (999): a
    vocabulary that merges a step's last character with the next one."""

    def encode(self, text: str) -> list[int]:
        ids, i = [], 0
        while i < len(text):
            if text.startswith("$.", i):
                ids.append(999)
                i += 2
            else:
                ids.append(ord(text[i]))
                i += 1
        return ids


def tiny_config(**overrides) -> ModelConfig:
    """The tiny decoder with `overrides` (any ModelConfig fields) replacing its fields.

    Example:
        >>> tiny_config(vocab_size=64).num_layers, tiny_config(num_layers=1).vocab_size
        (2, 256)
    """
    unknown = set(overrides) - {f.name for f in dataclasses.fields(ModelConfig)}
    if unknown:
        raise TypeError(f"not ModelConfig fields: {sorted(unknown)}")
    return ModelConfig(**{**TINY_FIELDS, **overrides})


# Tiny members of the two imported families (GGUF, safetensors, transformers round trips).
TINY_GEMMA = tiny_config(
    vocab_size=300, num_layers=6, mlp_dim=96, num_heads=2, num_kv_heads=1, head_dim=32,
    mlp_activation="gelu_tanh", rope_base=1_000_000.0, local_rope_base=10_000.0,
    sliding_window=4, local_global_pattern="LLLLLG", qk_norm=True, post_attention_norm=True,
    post_mlp_norm=True, tie_embeddings=True, scale_embeddings=True, norm_eps=1e-6,
    query_scale=32 ** -0.5, max_seq_len=128)
TINY_LLAMA = tiny_config(
    vocab_size=300, mlp_dim=96, mlp_activation="silu", rope_base=50_000.0,
    local_rope_base=50_000.0, tie_embeddings=False, norm_eps=1e-5, max_seq_len=64)

# The one-layer model over the byte vocabulary that decodes and trains on the byte tasks.
BYTE_MODEL = tiny_config(vocab_size=BYTES.vocab_size, num_layers=1, embed_dim=32, mlp_dim=64,
                         num_heads=2, num_kv_heads=1, max_seq_len=128)

# The decoding tests' problems: "i + i % 3" over the byte vocabulary, a test split only.
INFER_TASK = "infer_test_tiny"
INFER_NUM_PROBLEMS = 12


def _infer_records(split: str) -> list[dict]:
    from mathft_jax.data import task_factory
    return [task_factory.example(f"tiny/{split}/{i}", f"Problem:\n{i} + {i % 3} = ?\n\nSolution:\n",
                                 f"{2 * i}", str(i + i % 3), level=f"Level {i % 5 + 1}",
                                 subject="Arithmetic") for i in range(INFER_NUM_PROBLEMS)]


def _register_infer_task() -> None:
    from mathft_jax.data import task_factory
    if INFER_TASK not in seqio.TaskRegistry.names():
        task_factory.register_records_task(INFER_TASK, _infer_records, ["test"], BYTES)


_register_infer_task()

INFER_SETTINGS = dict(model_config=BYTE_MODEL, checkpoint="random_init",
                      mixture_or_task_name=INFER_TASK, greedy=True, num_samples=3,
                      max_new_tokens=6, batch_size=2, chunk_problems=4, seed=5,
                      show_progress=False)


REPO = Path(__file__).resolve().parents[1]

# The recipe's quick setting on the toy sums task, where every stage runs (43 stages).
RECIPE_GIN = REPO / "tests" / "recipe" / "toy_recipe.gin"


def recipe_command(run_dir, *flags: str) -> list[str]:
    """The recipe CLI on RECIPE_GIN into `run_dir` (a folder or a `gs://` URI), then `flags`
    (more `--gin.` bindings)."""
    return [sys.executable, "-m", "mathft_jax.recipe", f"--gin_file={RECIPE_GIN}",
            f"--gin.RUN_DIR='{run_dir}'", *flags]


def recipe_env(**extra: str) -> dict:
    """The environment of a `recipe_command` subprocess: this checkout first on the path,
    JAX on the CPU, then `extra`."""
    return {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu", **extra}


def kill_holding_lock(folder: Path, option: str, lock_name: Optional[str] = None) -> None:
    """Runs a process that takes `folder`'s output lock (as the tool behind `option`, e.g.
    "export.output_dir") and is SIGKILLed holding it: the lock is left stale."""
    lock_arg = f", lock_name={lock_name!r}" if lock_name else ""
    code = ("import os, signal\n"
            "from mathft_jax.training import run_lock\n"
            "@run_lock.releases_locks\n"
            "def tool():\n"
            f"    run_lock.hold_output({str(folder)!r}, {option!r}, folder=True{lock_arg})\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "tool()")
    killed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu"),
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]


def run_on_simulated_devices(module: str, devices: int, *args: str,
                             timeout: int = 900) -> tuple[dict, str]:
    """Runs `python -m <module> <args>` on `devices` simulated CPU devices and returns the
    JSON object of its last stdout line and its whole stdout. JAX fixes the device count
    when it starts, so multi-device checks need a process of their own.

    Example:
        out, stdout = run_on_simulated_devices("tests.training.sharded_equivalence", 8)
    """
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout
