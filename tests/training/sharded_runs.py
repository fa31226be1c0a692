"""Run as a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8 (see
test_sharded_runs.py): the tiny model's whole `train_loop` on a data x fsdp x tensor mesh,
the resumption of a single-device run's checkpoint on an fsdp x tensor mesh, and `infer` on
all 8 devices. Prints one JSON line: steps reached and the shard shape of one weight.

    python -m tests.training.sharded_runs WORK_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax

from tests.test_infer import SETTINGS
from tests.training import tiny_run

STEPS = 6
TRAIN_MESH = (2, 2, 2)
RESUME_MESH = (1, 4, 2)


def _gate_shard(result) -> list[int]:
    gate = result.state.params["layers"]["block"]["mlp"]["gate"]
    return list(gate.addressable_shards[0].data.shape)


def main(work: Path) -> None:
    assert jax.device_count() == 8, jax.devices()
    from mathft_jax.infer import infer  # after the device count is fixed
    trained = tiny_run.run(str(work / "sharded"), STEPS, mesh_shape=TRAIN_MESH)
    resumed = tiny_run.run(str(work / "resume"), STEPS, mesh_shape=RESUME_MESH)
    infer(output_file=str(work / "mesh.jsonl"), **SETTINGS)
    print(json.dumps({"trained": [trained.step, _gate_shard(trained)],
                      "resumed": [resumed.step, _gate_shard(resumed)]}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
