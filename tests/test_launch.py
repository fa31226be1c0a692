"""launch/ Cloud TPU and GKE (xpk) scripts: `--dry-run` prints exactly the commands they would
run (checked argument by argument) and runs none of them."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ZONE = "--zone=us-central2-b"


@pytest.fixture
def fake_bin(tmp_path):
    """gcloud / xpk / kubectl that record any real call (a dry run must make none)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "xpk", "kubectl"):
        path = bin_dir / tool
        path.write_text(f"#!/bin/sh\necho {tool} >> {tmp_path}/called\nexit 1\n")
        path.chmod(0o755)
    return bin_dir


def dry_run(fake_bin, script: str, *args: str, **env: str) -> list[list[str]]:
    """The printed commands of `launch/SCRIPT --dry-run ARGS`, each split as a shell would."""
    full_env = {"PATH": f"{fake_bin}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/"),
                "RUN_ID": "r1", **env}
    proc = subprocess.run(["bash", f"launch/{script}", "--dry-run", *args], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not (fake_bin.parent / "called").exists()
    return [shlex.split(line) for line in proc.stdout.splitlines()]


def test_create_single_slice(fake_bin):
    assert dry_run(fake_bin, "tpu_create.sh", "--spot", TPU_NAME="m", GCP_PROJECT="p") == [
        ["gcloud", "compute", "tpus", "tpu-vm", "create", "m", "--accelerator-type=v4-32",
         "--version=tpu-ubuntu2204-base", "--spot", ZONE, "--project=p"]]


def test_create_multislice_v5p_is_a_queued_resource(fake_bin):
    assert dry_run(fake_bin, "tpu_create.sh", TPU_NAME="m", NUM_SLICES="2",
                   ACCELERATOR_TYPE="v5p-128", RUNTIME_VERSION="v2-alpha-tpuv5",
                   ZONE="us-east5-a") == [
        ["gcloud", "compute", "tpus", "queued-resources", "create", "m-qr", "--node-count=2",
         "--node-prefix=m", "--accelerator-type=v5p-128", "--runtime-version=v2-alpha-tpuv5",
         "--zone=us-east5-a"]]


def test_create_queued_single_slice_v5e(fake_bin):
    cmds = dry_run(fake_bin, "tpu_create.sh", TPU_NAME="m", QUEUED="1",
                   ACCELERATOR_TYPE="v5litepod-64", RUNTIME_VERSION="v2-alpha-tpuv5-lite")
    assert cmds[0][4:7] == ["create", "m-qr", "--node-id=m"]
    assert "--accelerator-type=v5litepod-64" in cmds[0]


def test_setup_copies_head_and_installs_on_all_workers(fake_bin):
    archive, scp, ssh = dry_run(fake_bin, "tpu_setup.sh", TPU_NAME="m")
    assert archive == ["git", "-C", str(REPO), "archive", "--format=tar.gz", "-o",
                       "/tmp/mathft_jax_m.tar.gz", "HEAD"]
    assert scp == ["gcloud", "compute", "tpus", "tpu-vm", "scp", "/tmp/mathft_jax_m.tar.gz",
                   "m:/tmp/mathft_jax.tar.gz", "--worker=all", ZONE]
    assert ssh[:7] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "m", "--worker=all"]
    assert ssh[7].endswith("VENV=$HOME/mathft_venv bash launch/setup_env.sh tpu")


def test_run_starts_every_slice_with_the_command_intact(fake_bin):
    train = ["python", "-m", "mathft_jax.train", "--gin.MODEL_DIR='gs://b/run one'"]
    cmds = dry_run(fake_bin, "tpu_run.sh", *train, TPU_NAME="m", NUM_SLICES="2")
    assert [c[5] for c in cmds] == ["m-0", "m-1"]
    for cmd in cmds:
        assert cmd[6] == "--worker=all" and cmd[-1] == ZONE
        remote = cmd[7].removeprefix("--command=")
        # What each worker's shell runs: the arguments come back exactly as given.
        words = shlex.split(remote.split("MATHFT_MULTIHOST=1 ", 1)[1].split(" > ")[0])
        assert words == train
        assert "ln -sf $HOME/mathft_logs/r1.log $HOME/mathft_logs/latest.log" in remote


def test_logs_fetch_delete(fake_bin):
    (logs,) = dry_run(fake_bin, "tpu_logs.sh", TPU_NAME="m", WORKER="0")
    assert logs[4:8] == ["ssh", "m", "--worker=0",
                         "--command=tail -n +1 -F $HOME/mathft_logs/latest.log"]
    mkdir, scp = dry_run(fake_bin, "tpu_fetch.sh", "~/mathft_logs", "out", TPU_NAME="m")
    assert mkdir == ["mkdir", "-p", "out"]
    assert scp[4:] == ["scp", "--recurse", "m:~/mathft_logs", "out", "--worker=0", ZONE]
    assert dry_run(fake_bin, "tpu_delete.sh", TPU_NAME="m") == [
        ["gcloud", "compute", "tpus", "tpu-vm", "delete", "m", "--quiet", ZONE]]
    assert dry_run(fake_bin, "tpu_delete.sh", TPU_NAME="m", NUM_SLICES="4") == [
        ["gcloud", "compute", "tpus", "queued-resources", "delete", "m-qr", "--force",
         "--quiet", ZONE]]


def test_xpk_cluster_and_workload(fake_bin):
    env = dict(CLUSTER="c", TPU_TYPE="v5p-256", NUM_SLICES="2", GCP_PROJECT="p")
    flags = ["--cluster=c", "--zone=us-east5-a", "--project=p"]
    assert dry_run(fake_bin, "gke_xpk.sh", "cluster-create", "--spot", **env) == [
        ["xpk", "cluster", "create", *flags, "--tpu-type=v5p-256", "--num-slices=2", "--spot"]]
    (create,) = dry_run(fake_bin, "gke_xpk.sh", "run", "sft1", "python", "-m",
                        "mathft_jax.train", "--gin.TRAIN_STEPS=10", **env)
    assert create[:9] == ["xpk", "workload", "create", *flags, "--workload=sft1",
                          "--tpu-type=v5p-256", "--num-slices=2"]
    assert create[10] == f"--script-dir={REPO}"
    assert create[11] == ("--command=pip install -q -e '.[tpu]' && MATHFT_MULTIHOST=1 "
                          "python -m mathft_jax.train --gin.TRAIN_STEPS=10")
    assert dry_run(fake_bin, "gke_xpk.sh", "delete", "sft1", **env) == [
        ["xpk", "workload", "delete", *flags, "--workload=sft1"]]


def test_missing_tpu_name_fails_with_a_message(fake_bin):
    proc = subprocess.run(["bash", "launch/tpu_create.sh", "--dry-run"], cwd=REPO,
                          env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    assert proc.returncode != 0 and "set TPU_NAME" in proc.stderr
