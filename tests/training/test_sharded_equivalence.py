"""The same 5 steps on 1 device and on 8 simulated devices (data, fsdp, data x fsdp x tensor)
give the same losses, and the parameters are really split."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def test_meshes_match_single_device_and_shard_params():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "tests.training.sharded_equivalence"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    single = np.array(out["single"]["losses"])
    assert single[-1] < single[0]  # it trains
    for name in ("data8", "fsdp8", "d2f2t2"):
        assert out[name]["devices"] == 8
        np.testing.assert_allclose(out[name]["losses"], single, rtol=1e-5, err_msg=name)
    # TINY: vocab 256, embed 64, mlp 128, 4 heads, 2 kv heads, head_dim 16, 2 scanned layers.
    s = {name: {k: tuple(v) for k, v in out[name]["shard_shapes"].items()} for name in out}
    assert s["single"]["gate"] == (2, 64, 128)
    assert s["data8"]["gate"] == (2, 64, 128)              # data parallel: replicated
    assert s["fsdp8"]["gate"] == (2, 8, 128)               # embed / 8
    assert s["fsdp8"]["embedding"] == (256, 8)
    assert s["fsdp8"]["adam_mu_gate"] == (2, 8, 128)       # optimizer state follows params
    assert s["d2f2t2"]["gate"] == (2, 32, 64)              # embed / fsdp, mlp / tensor
    assert s["d2f2t2"]["q"] == (2, 32, 2, 16)                # embed / fsdp, heads / tensor
    assert s["d2f2t2"]["k"] == (2, 32, 1, 16)                # kv_heads / tensor
    assert s["d2f2t2"]["embedding"] == (128, 32)           # vocab / tensor, embed / fsdp
