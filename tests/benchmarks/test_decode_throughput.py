"""benchmarks/decode_throughput.py's llama.cpp side by side: the judged line and the message
without llama-cpp-python (no timings are checked)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs the script with llama_cpp made unimportable (as if the `llama` extra were missing).
WITHOUT_LLAMA_CPP = """
import runpy, sys
sys.modules["llama_cpp"] = None  # `import llama_cpp` now raises ImportError
sys.path.insert(0, "benchmarks")
sys.argv = ["decode_throughput.py", "--batch_sizes", "", "--llama_cpp"]
runpy.run_path("benchmarks/decode_throughput.py", run_name="__main__")
"""


def _module(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    return importlib.import_module("decode_throughput")


def test_ratio_line_is_ours_over_llama_cpp(monkeypatch):
    bench = _module(monkeypatch)
    line = bench.llama_cpp_ratio_line(20.0, 80.0)
    assert line.startswith("ours/llama.cpp 0.25 ")
    assert "ours 20.0 tokens/s" in line and "llama.cpp 80.0 tokens/s" in line
    assert bench.llama_cpp_ratio_line(100.0, 40.0).startswith("ours/llama.cpp 2.50 ")


def test_import_llama_cpp_is_none_without_the_package(monkeypatch):
    bench = _module(monkeypatch)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    assert bench.import_llama_cpp() is None


def test_first_difference(monkeypatch):
    bench = _module(monkeypatch)
    assert bench.first_difference([5, 6, 7], [5, 6, 7]) == "identical"
    assert bench.first_difference([5, 6, 7], [5, 9, 7]) == "first differ at new token 1 of 3"


def test_flag_without_llama_cpp_prints_one_line_and_exits_0():
    proc = subprocess.run([sys.executable, "-c", WITHOUT_LLAMA_CPP], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("llama.cpp comparison skipped: llama-cpp-python is not installed")
