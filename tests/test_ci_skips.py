"""Under CI a skip whose cause CI promises away fails; optional skips and local runs pass."""

import os
import re
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


EXTRA_SAMPLE = '''
import pytest

def test_gcs_extra():
    pytest.importorskip("surely_not_installed_module",
                        reason="optional: the gcs extra (a module) is not installed")

def test_gemma_extra():
    pytest.skip("optional: the gemma extra (Gemma Terms of Use) is not installed")
'''


def _run(tmp_path, ci: str | None, sample: str = SAMPLE, **env_vars: str) -> str:
    (tmp_path / "test_sample.py").write_text(sample)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MATHFT_REQUIRED_EXTRAS")}
    env["PYTHONPATH"] = str(REPO)
    env.update(env_vars)
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


@pytest.mark.parametrize("ci", [None, "1"])
def test_a_skip_for_a_required_extra_fails(tmp_path, ci):
    """`.ci/run` installs the documented extras and names them: their tests may not skip."""
    assert _run(tmp_path, ci, EXTRA_SAMPLE).startswith("2 skipped")
    assert _run(tmp_path, ci, EXTRA_SAMPLE, MATHFT_REQUIRED_EXTRAS="gcs,hf").startswith(
        "1 failed, 1 skipped")


def test_required_extras_are_matched_by_name():
    required = frozenset({"gcs", "hf"})
    assert not skip_is_allowed("Skipped: optional: the gcs extra (gcsfs) is not installed",
                               ci=False, required_extras=required)
    assert not skip_is_allowed("optional: the hf extra (torch) is not installed", ci=True,
                               required_extras=required)
    assert skip_is_allowed("optional: the gcsx extra is not installed", ci=True,
                           required_extras=required)
    assert skip_is_allowed("optional: the peers extra (google-tunix) is not installed",
                           ci=True, required_extras=required)


def test_ci_run_stops_without_a_compiler(tmp_path):
    # A PATH with no compiler and no apt-get: only what the script needs before its check.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "dirname").symlink_to("/usr/bin/dirname")
    result = subprocess.run(["/bin/bash", str(REPO / ".ci" / "run")], capture_output=True,
                            text=True, env={"PATH": str(tmp_path / "bin")}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: .ci/run needs a C++ compiler")


def test_ci_run_runs_every_test_file_of_the_extras_it_installs():
    """A new test file that skips without gcs, hf or peers is run by `.ci/run`'s extras step."""
    ci_run = (REPO / ".ci" / "run").read_text()
    required = {extra for names in re.findall(r"MATHFT_REQUIRED_EXTRAS=([\w,-]+)", ci_run)
                for extra in names.split(",")}
    assert {"gcs", "hf", "peers"} <= required
    pattern = re.compile(r"optional: the (%s) extra" % "|".join(sorted(required)))
    needing = {str(path.relative_to(REPO)) for path in (REPO / "tests").rglob("test_*.py")
               if path.name != "test_ci_skips.py" and pattern.search(path.read_text())}
    assert needing >= {"tests/test_gcs.py", "tests/test_hf_consumer.py",
                       "tests/models/test_tunix_export.py"}
    assert [path for path in sorted(needing) if path not in ci_run] == []
