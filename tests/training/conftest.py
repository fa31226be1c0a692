import os
import tempfile

import gin
import jax
import pytest

# A persistent compilation cache shared by this process's tests and the subprocesses they
# start: the tiny model's train step compiles once instead of once per run. One cache per
# pytest-xdist worker, never one inherited from the controller or a sibling: JAX writes an
# entry in place, so another process could read it half-written. A cache the user set
# (JAX_COMPILATION_CACHE_DIR without our owner mark) is kept.
_OWNER = "MATHFT_TEST_JIT_CACHE_OWNER"
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
if "JAX_COMPILATION_CACHE_DIR" not in os.environ or os.environ.get(_OWNER, _worker) != _worker:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(
        prefix=f"mathft_jit_cache_{_worker}_")
    os.environ[_OWNER] = _worker
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(autouse=True)
def _clean_gin():
    """Every test starts and ends with an empty gin config (the trainer reads gin defaults)."""
    gin.clear_config()
    yield
    gin.clear_config()
