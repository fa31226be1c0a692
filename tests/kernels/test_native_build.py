"""Compiling and caching FFI kernels: one build per machine, clear errors, XLA fallback."""
import platform
import subprocess
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from mathft_jax.kernels import cpu_matmul, native_build
from mathft_jax.kernels.native_build import NativeBuildError, build_shared_library

needs_compiler = pytest.mark.skipif(native_build.find_compiler() is None,
                                    reason="no C++ compiler on this machine")

GOOD = '#include "xla/ffi/api/ffi.h"\nextern "C" int mathft_answer() { return 42; }\n'


@needs_compiler
def test_builds_once_then_reuses_the_cached_library(tmp_path, monkeypatch):
    source = tmp_path / "answer.cc"
    source.write_text(GOOD)
    compiles = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        if "-shared" in command:
            compiles.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(native_build.subprocess, "run", counting_run)
    first = build_shared_library(source, cache_dir=tmp_path / "cache")
    again = build_shared_library(source, cache_dir=tmp_path / "cache")
    assert first == again and first.exists() and len(compiles) == 1
    source.write_text(GOOD + "// changed\n")
    assert build_shared_library(source, cache_dir=tmp_path / "cache") != first
    assert len(compiles) == 2
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".so", ".so"]


@needs_compiler
def test_a_failed_build_names_the_source_and_quotes_the_compiler(tmp_path):
    source = tmp_path / "broken.cc"
    source.write_text("this is not C++;\n")
    with pytest.raises(NativeBuildError, match=r"broken\.cc(.|\n)*error"):
        build_shared_library(source, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # no half-written library left


@needs_compiler
def test_the_kernel_source_compiles_on_any_x86_machine(tmp_path):
    """Compile-only (never loaded): a build break shows even on CPUs without AVX-512F."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("optional: the kernels are x86 (AVX-512) code")
    library = build_shared_library(cpu_matmul.SOURCE, extra_flags=["-mavx512f", "-mfma"],
                                   cache_dir=tmp_path)
    assert library.is_file() and library.stat().st_size > 0


def test_no_compiler_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(native_build, "find_compiler", lambda: None)
    source = tmp_path / "answer.cc"
    source.write_text(GOOD)
    with pytest.raises(NativeBuildError, match="needs a C\\+\\+ compiler"):
        build_shared_library(source, cache_dir=tmp_path)


def test_kernels_stay_off_without_avx512(monkeypatch, caplog):
    built = []
    monkeypatch.setattr(cpu_matmul, "cpu_flags", lambda: frozenset({"sse2", "avx2"}))
    monkeypatch.setattr(cpu_matmul, "build_shared_library", lambda source: built.append(source))
    monkeypatch.setattr(cpu_matmul, "_state", {})
    assert not cpu_matmul.kernels_enabled() and not built
    assert "AVX-512F" in cpu_matmul.describe() and "AVX-512F" not in caplog.text


def test_cpu_flags_reads_this_machine():
    flags = native_build.cpu_flags()
    assert isinstance(flags, frozenset)
    if Path("/proc/cpuinfo").exists() and platform.machine() == "x86_64":
        assert "sse2" in flags


def test_kernels_fall_back_to_xla_when_the_build_fails(monkeypatch, caplog):
    def failing_build(source):
        raise NativeBuildError(f"compiling {source.name} failed: simulated")

    monkeypatch.setattr(cpu_matmul, "build_shared_library", failing_build)
    monkeypatch.setattr(cpu_matmul, "cpu_flags", lambda: frozenset({"avx512f"}))
    monkeypatch.setattr(cpu_matmul, "_state", {})
    x, w = jnp.ones((4, 8)), jnp.ones((8, 16))
    assert not cpu_matmul.kernels_enabled()
    assert "simulated" in cpu_matmul.describe()
    assert "simulated" in caplog.text
    assert "mathft_" not in jax.jit(cpu_matmul.skinny_matmul).lower(x, w).as_text()
    assert float(cpu_matmul.skinny_matmul(x, w)[0, 0]) == 8.0
