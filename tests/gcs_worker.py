"""Train -> resume -> infer -> export with every path on `gs://`, against the GCS emulator
that `tests/test_gcs.py` starts (it sets STORAGE_EMULATOR_HOST, TENSORSTORE_GCS_HTTP_URL and
EPATH_USE_TF=0 for this process).

    python -m tests.gcs_worker gs://BUCKET LOCAL_DIR

The run is started in-process (`trainer.train_loop`, preempted by SIGTERM after step 2) and
resumed to step 4 by the train CLI in a subprocess (`python -m mathft_jax.train` with
tests/gcs_train.gin, MODEL_DIR on the bucket). TensorBoard summaries are the one output kept
local, through the user's setting `train.summary_dir`: clu writes them through `tf.io.gfile`,
whose GCS client has its endpoint (https://www.googleapis.com/storage/v1/) compiled in, so it
cannot reach the emulator (there is no network either: a `gs://` summary would fail the run).

Prints one JSON line with what the test checks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from etils import epath

from mathft_jax import export as export_lib
from mathft_jax import file_paths
from mathft_jax.infer import infer
from mathft_jax.models import safetensors_io
from mathft_jax.training import checkpoints
from tests.kit import INFER_SETTINGS as SETTINGS, INFER_TASK as TASK
from tests.training import tiny_run

REPO = Path(__file__).resolve().parents[1]


def _preempt_at(step: int):
    """A step callback that sends SIGTERM, as a TPU preemption does: the loop saves, stops."""
    def callback(at, state):
        del state
        if at == step:
            os.kill(os.getpid(), signal.SIGTERM)
    return callback


def _move_tree_check(folder: str) -> dict:
    """`file_paths.move_tree` (how a broken checkpoint step is set aside) on the bucket."""
    src = epath.Path(folder, "src")
    (src / "a").mkdir(parents=True, exist_ok=True)
    (src / "a" / "b.txt").write_text("b")
    (src / "c.txt").write_text("c")
    file_paths.move_tree(src, f"{folder}/aside/4")
    dst = epath.Path(folder, "aside", "4")
    return {"src_exists": src.exists(),
            "files": sorted(f"{os.path.basename(d)}/{f}" for d, _, files in dst.walk()
                            for f in files),
            "b": (dst / "a" / "b.txt").read_text()}


def _train_cli(model_dir: str, summary_dir: str) -> subprocess.CompletedProcess:
    """The README's command with MODEL_DIR on the bucket and the summaries local."""
    cmd = [sys.executable, "-m", "mathft_jax.train",
           f"--gin_file={REPO / 'tests' / 'gcs_train.gin'}", f"--gin.MODEL_DIR='{model_dir}'", f"--gin.train.summary_dir='{summary_dir}'"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=400)


def _event_files(folder: str) -> list[str]:
    """The TensorBoard event files under `folder`, as SUBFOLDER names (one per file)."""
    return sorted(p.relative_to(folder).parent.as_posix()
                  for p in Path(folder).rglob("*tfevents*"))


def _infer(output_file: str, checkpoint: str, **kw) -> dict:
    settings = {**SETTINGS, "model_config": tiny_run.CONFIG, "mixture_or_task_name": TASK}
    return infer(output_file=output_file, **{**settings, "checkpoint": checkpoint, **kw})


def main(bucket: str, local_dir: str) -> dict:
    run = f"{bucket}/run"
    first = tiny_run.run(run, 4, checkpoint_every=2, step_callbacks=[_preempt_at(2)],
                         summary_dir=f"{local_dir}/tb_first")
    cli = _train_cli(run, f"{local_dir}/tb")
    if cli.returncode:
        raise SystemExit(f"train CLI exit {cli.returncode}:\n{cli.stderr[-4000:]}")
    cli_lines = (cli.stdout + cli.stderr).splitlines()
    steps = sorted(int(p.name) for p in epath.Path(run, "checkpoints").iterdir()
                   if p.name.isdigit())
    cands = f"{bucket}/out/candidates.jsonl"
    part = _infer(cands, run, max_chunks=1)  # then resume: the object is rewritten per chunk
    done = _infer(cands, run)
    _infer(f"{local_dir}/candidates.jsonl", run)  # the same decode, written locally
    manifest = export_lib.export(output_dir=f"{bucket}/export", checkpoint=run,
                                 model_config=tiny_run.CONFIG)
    _, exported = safetensors_io.load_safetensors(f"{bucket}/export/hf")
    restored = checkpoints.restore_params(f"{bucket}/export/params", None)
    moved = _move_tree_check(f"{bucket}/move")
    return {
        "moved": moved,
        "first_step": first.step, "preempted": first.preempted,
        "cli_resumed_from": [ln.split()[2] for ln in cli_lines if ln.startswith("resuming from")],
        "cli_progress": [ln.split(" | ")[0] for ln in cli_lines
                         if ln.startswith(("step ", "eval step "))],
        "checkpoint_steps": steps,
        "summaries_first": _event_files(f"{local_dir}/tb_first"),
        "summaries_cli": _event_files(f"{local_dir}/tb"),
        "run_listing": sorted(p.name for p in epath.Path(run).iterdir()),
        "lock": epath.Path(run, "run.lock").read_text(),
        "infer_partial": part["problems_total"], "infer_complete": done["complete"],
        "candidates_equal_local": epath.Path(cands).read_bytes()
        == epath.Path(local_dir, "candidates.jsonl").read_bytes(),
        "candidates_rows": len(epath.Path(cands).read_text().splitlines()),
        "export_files": manifest["files"],
        "export_matches_orbax": bool(np.array_equal(exported["embedding"],
                                                    np.asarray(restored["embedding"]))),
        "bucket_listing": sorted(p.name for p in epath.Path(bucket).iterdir()),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3])), flush=True)
