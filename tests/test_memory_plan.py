"""benchmarks/memory_plan.py: the train step compiles ahead of time for an abstract 256-device
mesh, and the per-device figures hang together (the full gemma3_4b / gemma3_12b plan is in the
README; it takes minutes, so it is not run here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_tiny_plan_compiles_for_256_devices():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "benchmarks/memory_plan.py", "--preset", "tiny", "--devices", "256",
         "--mesh", "16,16,1", "--batch", "256", "--seq", "32", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    plan = json.loads(proc.stdout.strip().splitlines()[-1])["tiny"]
    (row,) = plan["meshes"]
    assert row["devices"] == 256 and row["mesh"] == [16, 16, 1]
    total_bytes = 4 * plan["num_params"]  # float32
    # embed (64) splits 16 ways over fsdp; norms stay whole: a device holds under 1/8.
    assert 0 < row["params"] < total_bytes / 8
    # AdamW: mu and nu shaped and sharded like the params, plus scalar step counts.
    assert 0 <= row["opt_state"] - 2 * row["params"] < 64
    assert row["temp"] > 0
    assert row["peak"] >= row["params"] + row["opt_state"]
