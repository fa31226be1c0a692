"""Multi-host start-up: every entry point calls `maybe_initialize()` before touching devices.

On a Cloud TPU pod slice each host runs the same program (see `launch/tpu_run.sh`, which sets
`MATHFT_MULTIHOST=1`); `jax.distributed.initialize()` then discovers the coordinator and the
host count from the TPU metadata. On one machine (CPU, one GPU, a single-host TPU) nothing is
done. For GPU clusters or custom set-ups, set `MATHFT_COORDINATOR=host:port`,
`MATHFT_NUM_PROCESSES` and `MATHFT_PROCESS_ID` explicitly.
"""

from __future__ import annotations

import os

import jax

_initialized = False


def maybe_initialize() -> None:
    """Initialises jax.distributed once when the environment asks for multi-host."""
    global _initialized
    if _initialized:
        return
    coordinator = os.environ.get("MATHFT_COORDINATOR")
    if coordinator:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=int(os.environ["MATHFT_NUM_PROCESSES"]),
            process_id=int(os.environ["MATHFT_PROCESS_ID"]))
    elif os.environ.get("MATHFT_MULTIHOST") == "1":
        jax.distributed.initialize()
    _initialized = True


def is_primary_host() -> bool:
    """True on the host that writes shared outputs (reports, candidate files, exports)."""
    return jax.process_index() == 0
