"""Compiles a C++ XLA FFI source into a shared library once per machine, and caches it.

jaxlib ships the XLA FFI headers (`jax.ffi.include_dir()`), so a C++ compiler is all a
kernel needs; it is compiled on first use rather than at install time so that TPU and GPU
hosts, which never run the CPU kernels, need no compiler. The library is built with
`-march=native` for the machine it will run on, so the cache key covers the source, the
flags, the compiler, jaxlib's version and the CPU's model and feature flags: a home
directory shared across different machines gets one library per kind of machine.

Example:
    path = build_shared_library(Path("cpu_matmul.cc"))
    # ~/.cache/mathft_jax/kernels/cpu_matmul-1f2e3d4c5b6a7988.so
"""
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import jax
import jaxlib

from mathft_jax.cache_dirs import cache_root

ENV_COMPILER = "CXX"
COMPILE_FLAGS = ("-O3", "-march=native", "-std=c++17", "-shared", "-fPIC")
COMPILE_TIMEOUT_S = 300


class NativeBuildError(RuntimeError):
    """No compiler, or the compiler rejected the source (the message quotes its output)."""


def find_compiler() -> Optional[str]:
    """`$CXX`, else the first of g++, c++, clang++ on PATH; None when there is none."""
    if os.environ.get(ENV_COMPILER):
        return os.environ[ENV_COMPILER]
    for name in ("g++", "c++", "clang++"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _first_cpu_block() -> list[str]:
    """The first processor's lines of /proc/cpuinfo (empty where there is none)."""
    lines = []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip() == "":
                    break
                lines.append(line.strip())
    except OSError:
        pass
    return lines


def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags from /proc/cpuinfo ("avx512f", ...); empty where unknown."""
    for line in _first_cpu_block():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def _cpu_identity() -> str:
    """Model name and feature flags of this CPU (what -march=native compiles for)."""
    lines = [line for line in _first_cpu_block()
             if line.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(lines) or platform.processor() or platform.machine()


def _compiler_version(compiler: str) -> str:
    try:
        result = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NativeBuildError(f"cannot run the C++ compiler {compiler!r}: {error}") from error
    return result.stdout


def build_shared_library(source: Path, extra_flags: Sequence[str] = (),
                         cache_dir: Optional[Path] = None) -> Path:
    """Returns the path of `source` compiled for this machine, building it if not cached.

    Args:
      source: a C++ file that includes "xla/ffi/api/ffi.h".
      extra_flags: more compiler flags (part of the cache key).
      cache_dir: where built libraries live; default `cache_root() / "kernels"`.

    Raises:
      NativeBuildError: no compiler was found or the build failed; the message names the
        source and ends with the compiler's output.
    """
    compiler = find_compiler()
    if compiler is None:
        raise NativeBuildError(f"building {source.name} needs a C++ compiler: none of $CXX, "
                               "g++, c++, clang++ was found")
    include_dir = jax.ffi.include_dir()
    flags = [*COMPILE_FLAGS, *extra_flags]
    key = hashlib.sha256("\0".join([
        source.read_text(encoding="utf-8"), " ".join(flags), compiler,
        _compiler_version(compiler), jaxlib.__version__, _cpu_identity(),
    ]).encode()).hexdigest()[:16]
    directory = Path(cache_dir) if cache_dir is not None else cache_root() / "kernels"
    target = directory / f"{source.stem}-{key}.so"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    # Build under a temporary name in the same directory, then rename: a concurrent or
    # interrupted build never leaves a half-written library under the final name.
    handle, partial = tempfile.mkstemp(prefix=f".{source.stem}-", suffix=".so", dir=directory)
    os.close(handle)
    command = [compiler, *flags, "-isystem", include_dir, str(source), "-o", partial]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=COMPILE_TIMEOUT_S, check=False)
        if result.returncode != 0:
            raise NativeBuildError(f"compiling {source} failed ({' '.join(command)}):\n"
                                   f"{result.stderr[-4000:]}")
        os.replace(partial, target)
    except subprocess.TimeoutExpired as error:
        raise NativeBuildError(f"compiling {source} took over {COMPILE_TIMEOUT_S} s") from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target
