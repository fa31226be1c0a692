"""Beyond one step on 8 simulated devices: a whole sharded `train_loop`, resuming a
single-device checkpoint on a sharded mesh, and `infer` with a mesh all match the
single-device runs of this process."""

import json
import os
import signal
from pathlib import Path

import jax
import numpy as np

from mathft_jax.infer import infer
from mathft_jax.training import checkpoints
from tests import kit
from tests.test_infer import SETTINGS
from tests.training import sharded_runs, tiny_run


def _sigterm_at(step_to_stop: int):
    def callback(step, state):
        del state
        if step == step_to_stop:
            os.kill(os.getpid(), signal.SIGTERM)
    return callback


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sharded_train_loop_resume_and_infer(tmp_path):
    steps = sharded_runs.STEPS
    reference = tiny_run.run(str(tmp_path / "reference"), steps)
    stopped = tiny_run.run(str(tmp_path / "resume"), steps, step_callbacks=[_sigterm_at(3)])
    assert stopped.preempted and stopped.step == 3
    infer(output_file=str(tmp_path / "single.jsonl"), **SETTINGS)

    out, stdout = kit.run_on_simulated_devices("tests.training.sharded_runs", 8, str(tmp_path))
    assert f"resuming from {tmp_path / 'resume' / 'checkpoints'}/3" in stdout
    # tiny_run.CONFIG: 2 scanned layers, embed 64, mlp 128; gate split embed / fsdp and
    # mlp / tensor.
    assert out["trained"] == [steps, [2, 32, 64]]
    assert out["resumed"] == [steps, [2, 16, 64]]

    target = jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
        reference.state.params)
    # Same numbers up to float32 sums taken in another order across shards.
    for run in ("sharded", "resume"):
        params = checkpoints.restore_params(tmp_path / run, target)
        for want, got in zip(jax.tree_util.tree_leaves(reference.state.params),
                             jax.tree_util.tree_leaves(params)):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4,
                                       atol=1e-5, err_msg=run)
    single, mesh = _rows(tmp_path / "single.jsonl"), _rows(tmp_path / "mesh.jsonl")
    assert len(single) == len(mesh) > 0
    for a, b in zip(single, mesh):
        assert (a["problem_id"], a["sample_index"], a["text"]) == \
            (b["problem_id"], b["sample_index"], b["text"])
