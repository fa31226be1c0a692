"""Multi-host start-up: two JAX processes on 127.0.0.1 (CPU, gloo collectives) train with the
same losses as one process with two devices, the training loop checkpoints from both, and an
export is written once, by the primary."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mathft_jax import distributed
from mathft_jax.models import safetensors_io
from tests.models.test_gguf_import import TINY_GEMMA, random_params

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 600


def run_workers(module: str, args: list[str], envs: list[dict]) -> list[dict]:
    """Starts `python -m module *args` once per env (one process per host), waits for all
    (killing the rest on a timeout), and returns each one's last stdout line as JSON."""
    procs = [subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for env in envs]
    try:
        outs = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATHFT_")}
    env.update(JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2", MATHFT_CPU_KERNELS="0", **extra)
    return env


def _run(envs: list[dict], args: list[str]) -> list[dict]:
    return run_workers("tests.multiprocess_worker", list(args), envs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multiprocess")
    hf_dir = tmp / "hf_in"
    safetensors_io.export_safetensors(TINY_GEMMA, random_params(TINY_GEMMA, seed=3), hf_dir)
    single = _run([_env(XLA_FLAGS="--xla_force_host_platform_device_count=2")], [])[0]
    address = f"127.0.0.1:{_free_port()}"
    two = _run([_env(MATHFT_COORDINATOR=address, MATHFT_NUM_PROCESSES="2",
                     MATHFT_PROCESS_ID=str(i)) for i in range(2)],
               ["--export-from", str(hf_dir), "--export-to", str(tmp / "export"),
                "--train-dir", str(tmp / "run")])
    return single, two, hf_dir, tmp / "export", tmp / "run"


def test_two_processes_train_like_one(runs):
    single, two, *_ = runs
    assert (single["process_count"], single["devices"]) == (1, 2)
    assert [r["process_index"] for r in two] == [0, 1]
    assert all(r["process_count"] == 2 and r["devices"] == 2 for r in two)
    for mesh in ("data", "fsdp"):
        ref = np.array(single["losses"][mesh])
        assert ref[-1] < ref[0], mesh  # it trains
        for r in two:
            np.testing.assert_allclose(r["losses"][mesh], ref, rtol=1e-5, err_msg=mesh)


def test_two_process_export_written_once_by_primary(runs):
    _, two, hf_dir, out, _ = runs
    assert [r["exported"] for r in two] == [True, False]
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["files"] == ["params", "hf/model.safetensors", "hf/config.json"]
    config, params = safetensors_io.load_safetensors(out / "hf")
    _, expected = safetensors_io.load_safetensors(hf_dir)
    assert config == TINY_GEMMA
    np.testing.assert_array_equal(params["embedding"], expected["embedding"])


def test_two_process_training_loop_checkpoints_together(runs):
    """The whole loop (per-host SeqIO shards, collective Orbax save) runs on two hosts."""
    _, two, *_, run_dir = runs
    first, second = (r["train_loop"] for r in two)
    assert first["step"] == second["step"] == 2
    assert first["losses"] == second["losses"] and len(first["losses"]) == 2
    assert all(np.isfinite(first["losses"]))
    assert (run_dir / "checkpoints" / "2" / "params").is_dir()


def test_single_process_is_primary_and_not_initialized(monkeypatch):
    for name in ("MATHFT_COORDINATOR", "MATHFT_MULTIHOST"):
        monkeypatch.delenv(name, raising=False)
    distributed.maybe_initialize()
    assert distributed.is_primary_host()


def test_coordinator_without_process_id_fails_clearly(monkeypatch):
    monkeypatch.setattr(distributed, "_initialized", False)
    monkeypatch.setenv("MATHFT_COORDINATOR", "127.0.0.1:1")
    monkeypatch.setenv("MATHFT_NUM_PROCESSES", "2")
    monkeypatch.delenv("MATHFT_PROCESS_ID", raising=False)
    with pytest.raises(ValueError, match="MATHFT_PROCESS_ID must be a non-negative integer"):
        distributed.maybe_initialize()
