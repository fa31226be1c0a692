"""Multi-host start-up: every entry point calls `maybe_initialize()` before touching devices.

Every entry point (`train`, `infer`, `score`, `evaluate`, `export`, the recipe) calls it
first thing. What it does depends on the environment, so the same command runs on a laptop
and on a pod slice:

    MATHFT_MULTIHOST=1        (set by `launch/tpu_run.sh`) `jax.distributed.initialize()` with
                              no arguments: on Cloud TPU it reads the coordinator, host count
                              and host id from the TPU metadata.
    MATHFT_COORDINATOR=h:p    explicit start-up for GPU clusters, custom launchers and the
    MATHFT_NUM_PROCESSES=N    multi-process CPU tests (`tests/test_distributed.py` runs two
    MATHFT_PROCESS_ID=i       processes on 127.0.0.1). On CPU, cross-process collectives use
                              gloo (`jax_cpu_collectives_implementation`, the default of the
                              pinned JAX); `MATHFT_CPU_COLLECTIVES=mpi` picks MPI.
    neither                   nothing happens: one process, its local devices.

Shared outputs (a report, an export, a candidates file) are written by `is_primary_host()`
only; Orbax checkpoints are written collectively by every host. `gather_bytes`,
`gather_json` and `broadcast_int` move small host-side results between hosts (multi-host
`infer` and `score` gather their rows with them).
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np

_initialized = False


def _from_env(name: str) -> int:
    value = os.environ.get(name)
    if value is None or not value.isdigit():
        raise ValueError(f"MATHFT_COORDINATOR is set, so {name} must be a non-negative "
                         f"integer, got {value!r}")
    return int(value)


def maybe_initialize(force: bool = False) -> None:
    """Initialises `jax.distributed` once, when the environment (or `force`) asks for it.

    Args:
      force: initialise with no arguments (TPU metadata discovery) even without
        MATHFT_MULTIHOST=1, e.g. for `train.distributed_init = True` in a gin file.
    """
    global _initialized
    if _initialized or jax.distributed.is_initialized():
        _initialized = True
        return
    coordinator = os.environ.get("MATHFT_COORDINATOR")
    if coordinator:
        collectives = os.environ.get("MATHFT_CPU_COLLECTIVES")
        if collectives:
            jax.config.update("jax_cpu_collectives_implementation", collectives)
        jax.distributed.initialize(coordinator_address=coordinator,
                                   num_processes=_from_env("MATHFT_NUM_PROCESSES"),
                                   process_id=_from_env("MATHFT_PROCESS_ID"))
    elif force or os.environ.get("MATHFT_MULTIHOST") == "1":
        jax.distributed.initialize()
    _initialized = True


def is_primary_host() -> bool:
    """True on the one host that writes shared outputs (reports, exports)."""
    return jax.process_index() == 0


def broadcast_int(value: int) -> int:
    """The primary host's `value`, on every host (a no-op with one process)."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils
    return int(multihost_utils.broadcast_one_to_all(np.int64(value)))


def gather_bytes(data: bytes) -> list[bytes]:
    """Every host's `data`, in process order, on every host (`[data]` with one process).

    Example (2 hosts): host 0 passes b"ab", host 1 b"c"; both get [b"ab", b"c"]. The bytes
    travel as one uint8 array per host, padded to the longest.
    """
    if jax.process_count() == 1:
        return [data]
    from jax.experimental import multihost_utils
    sizes = multihost_utils.process_allgather(np.int64(len(data)))
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[:len(data)] = np.frombuffer(data, np.uint8)
    gathered = multihost_utils.process_allgather(padded)
    return [gathered[i, :int(n)].tobytes() for i, n in enumerate(sizes)]


def gather_json(value) -> list:
    """Every host's JSON-serialisable `value`, in process order, on every host.

    Floats survive exactly (JSON writes their shortest round-tripping repr); dict keys come
    back as strings, as JSON has it. Example (2 hosts): host 0 passes [[3, 0.5]], host 1
    [[4, 0.25]]; both get [[[3, 0.5]], [[4, 0.25]]].
    """
    return [json.loads(data) for data in gather_bytes(json.dumps(value).encode())]
