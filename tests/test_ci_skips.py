"""Under CI a skip whose cause CI promises away fails; optional skips and local runs pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_is_allowed

REPO = Path(__file__).resolve().parents[1]

SAMPLE = '''
import pytest

def test_no_compiler():
    pytest.skip("no C++ compiler on this machine")

@pytest.mark.skipif(True, reason="MATH data not found")
def test_no_data():
    pass

def test_optional_extra():
    pytest.importorskip("surely_not_installed_module", reason="optional: extra not installed")

def test_runs():
    assert True
'''


def _run(tmp_path, ci: str | None) -> str:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO)
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-p", "tests.conftest", "-q", "-rfs",
         "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(tmp_path),
         "-c", os.devnull], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("ci,summary", [
    (None, "1 passed, 3 skipped"), ("0", "1 passed, 3 skipped"),
    # A skip in the call fails the test; one in setup (a skipif mark) is a setup error.
    ("1", "1 failed, 1 passed, 1 skipped, 1 error"),
    ("true", "1 failed, 1 passed, 1 skipped, 1 error")])
def test_ci_turns_unexpected_skips_into_failures(tmp_path, ci, summary):
    assert _run(tmp_path, ci).startswith(summary)


def test_skip_is_allowed():
    assert skip_is_allowed("no C++ compiler", ci=False)
    assert not skip_is_allowed("Skipped: no C++ compiler", ci=True)
    assert skip_is_allowed("Skipped: optional: not an AVX-512 machine", ci=True)


def test_ci_run_stops_without_a_compiler(tmp_path):
    # A PATH with no compiler and no apt-get: only what the script needs before its check.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "dirname").symlink_to("/usr/bin/dirname")
    result = subprocess.run(["/bin/bash", str(REPO / ".ci" / "run")], capture_output=True,
                            text=True, env={"PATH": str(tmp_path / "bin")}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: .ci/run needs a C++ compiler")
