"""Every path on `gs://`: a tiny train -> resume -> infer -> export against a local GCS
emulator (`gcp-storage-emulator`), through fsspec/gcsfs (epath) and TensorStore (Orbax). The
resume is the train CLI (`python -m mathft_jax.train`, tests/gcs_train.gin) with MODEL_DIR on
the bucket and `train.summary_dir` local: TensorFlow, which writes the summaries, cannot reach
the emulator.

Needs the `gcs` extra; without it the test skips as optional."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests import kit
from tests.test_distributed import REPO, _free_port

BUCKET = "mathft-test"
NEEDS = ("gcp_storage_emulator", "gcsfs")
pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in NEEDS),
    reason="optional: the gcs extra (gcp-storage-emulator, gcsfs) is not installed")


def _wait_for_port(port: int, proc: subprocess.Popen, log, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the GCS emulator did not listen on {port} in {timeout_s}s")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("gcs_emulator") / "requests.log"  # a pipe would fill up
    with open(log, "w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "tests.gcs_emulator", "start", "--host",
                                 "127.0.0.1", "--port", str(port), "--in-memory",
                                 "--default-bucket", BUCKET],
                                cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _emulator_env(emulator: str) -> dict:
    """This environment for a subprocess whose `gs://` paths reach the emulator: gcsfs
    (epath without TensorFlow) and TensorStore (Orbax's arrays) pointed at it. gcsfs's
    bucket-type probe is off: it asks a gRPC API the emulator does not serve, and without an
    answer it asks again at every file opened, each time retrying for 60 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATHFT_")}
    env.update(JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2", MATHFT_CPU_KERNELS="0",
               EPATH_USE_TF="0", GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false",
               STORAGE_EMULATOR_HOST=emulator,
               TENSORSTORE_GCS_HTTP_URL=emulator, GOOGLE_AUTH_TOKEN_FOR_TESTING="emulator")
    return env


@pytest.fixture(scope="module")
def result(emulator, tmp_path_factory):
    env = _emulator_env(emulator)
    proc = subprocess.run([sys.executable, "-m", "tests.gcs_worker", f"gs://{BUCKET}",
                           str(tmp_path_factory.mktemp("gcs_local"))],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_train_and_resume_on_gcs(result):
    assert (result["first_step"], result["preempted"]) == (2, True)
    assert result["cli_resumed_from"] == [f"gs://{BUCKET}/run/checkpoints/2"]
    assert sorted(result["cli_progress"]) == ["eval step 4/4", "step 3/4", "step 4/4"]
    assert result["checkpoint_steps"] == [2, 4]
    assert result["lock"] == ""  # released cleanly, as an object
    assert {"run", "out", "export"} <= set(result["bucket_listing"])


def test_summaries_local_while_model_dir_on_gcs(result):
    """`train.summary_dir` (CLI) and `summary_dir` (train_loop): the event files are in the
    local folder, none under MODEL_DIR in the bucket (a `gs://` summary would go through
    TensorFlow, which cannot reach the emulator)."""
    # One event file per writer, created with it (the in-process run never evaluated).
    assert result["summaries_first"] == result["summaries_cli"] == ["eval", "train"]
    assert result["run_listing"] == ["checkpoints", "run.lock"]


def test_infer_resumes_on_gcs_into_the_local_file(result):
    assert result["infer_partial"] == 4 and result["infer_complete"]
    assert result["candidates_rows"] == 12 * 4
    assert result["candidates_equal_local"]


def test_export_to_gcs(result):
    assert result["export_files"] == ["params", "hf/model.safetensors", "hf/config.json"]
    assert result["export_matches_orbax"]


def test_move_tree_on_gcs(result):
    """How a broken checkpoint step is set aside: copy every object, then delete."""
    assert result["moved"] == {"src_exists": False, "files": ["4/c.txt", "a/b.txt"], "b": "b"}


def _recipe(emulator: str, run_dir: str, summary_dir) -> subprocess.CompletedProcess:
    """The quick toy recipe (`kit.RECIPE_GIN`) into `run_dir` on the bucket; the TensorBoard
    summaries local (`RecipeSettings.summary_dir`), as TensorFlow cannot reach the emulator."""
    command = kit.recipe_command(run_dir, f"--gin.RecipeSettings.summary_dir='{summary_dir}'")
    return subprocess.run(command, cwd=REPO, env=kit.recipe_env(**_emulator_env(emulator)),
                          capture_output=True, text=True, timeout=2400)


@pytest.mark.timeout(4800)  # both runs took 21 min on the loaded 2-core machine
def test_recipe_runs_into_a_bucket_and_a_rerun_skips_every_stage(emulator, tmp_path):
    """RUN_DIR on `gs://`: every stage's manifest, outputs and the report land in the bucket,
    and the same command again finds every stage done there."""
    from gcsfs.core import GCSFileSystem  # the plain client: no bucket-type probe
    run_dir, summaries = f"gs://{BUCKET}/recipe", tmp_path / "tb"
    first = _recipe(emulator, run_dir, summaries)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert f"report: {run_dir}/report/report.md" in first.stdout
    bucket = GCSFileSystem(endpoint_url=emulator, token="anon")
    prefix = f"{BUCKET}/recipe"
    manifests = [json.loads(bucket.cat(path)) for path in bucket.glob(f"{prefix}/*/manifest.json")]
    assert len(manifests) == 43 and all(m["complete"] for m in manifests)
    report = json.loads(bucket.cat(f"{prefix}/report/report.json"))
    assert len(report["rows"]) == 12 and len(report["verdicts"]) >= 3
    assert bucket.cat(f"{prefix}/report/report.md").decode().count("## Verdicts") == 1
    assert len(bucket.glob(f"{prefix}/report/accuracy_vs_n_*.png")) == 12
    trained = sorted(m["stage"] for m in manifests if "final_metrics" in m["outputs"])
    assert len(trained) == 10 and sorted(p.name for p in summaries.iterdir()) == trained
    assert not bucket.glob(f"{prefix}/*/train")  # no summaries in the bucket

    again = _recipe(emulator, run_dir, summaries)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"plan for {run_dir}: 43 stages; done, to skip (43): " in again.stdout
    done = [line for line in again.stdout.splitlines() if line.endswith(": done, skipped")]
    assert len(done) == 43 and "started" not in again.stdout
