"""Suite-wide settings: reproducible property tests, no silent skips under CI, and each test
starting from the default task options.

Skips under CI: with the `CI` environment variable set (`.ci/run` sets it), a skipped test
FAILS unless its reason starts with "optional: ". A skip for a missing C++ compiler, missing
MATH data or a dependency that does not import is then a red build, not a quiet yellow one;
only causes CI does not promise (an optional extra such as the Gemma weights, a CPU without
AVX-512) say "optional: ". Locally every skip stays a skip.

Required extras: `MATHFT_REQUIRED_EXTRAS` (comma-separated extra names; `.ci/run` sets it after
installing them) makes a skip that says "optional: the <extra> extra ..." for one of those
extras fail, in CI or not: CI runs the extras the README documents and must not pass with
their tests skipped.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import settings

from mathft_jax.data import task_options

OPTIONAL_SKIP = "optional: "
REQUIRED_EXTRAS_ENV = "MATHFT_REQUIRED_EXTRAS"
_EXTRA_NAMED = re.compile(r"optional: the ([\w-]+) extra\b")

# Property tests draw the same examples on every run and machine (a failure reproduces; the
# mutation run sees a fixed test suite) and keep no example database in the work tree.
settings.register_profile("mathft", derandomize=True, database=None, deadline=None)
settings.load_profile("mathft")


@pytest.fixture(autouse=True)
def default_task_options():
    """Each test starts from the default task options (`data.task_options`), whatever an
    earlier test installed (an entry point run in-process installs gin's)."""
    task_options.set_current(task_options.TaskOptions())
    yield


def skip_is_allowed(reason: str, ci: bool, required_extras: frozenset[str] = frozenset()
                    ) -> bool:
    """Whether a skip with this reason may stay a skip.

    Always, except under CI (only "optional: " skips) and for a skip that names one of
    `required_extras` ("optional: the gcs extra ... is not installed").
    """
    reason = reason.removeprefix("Skipped: ")
    extra = _EXTRA_NAMED.match(reason)
    if extra and extra.group(1) in required_extras:
        return False
    return not ci or reason.startswith(OPTIONAL_SKIP)


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _required_extras() -> frozenset[str]:
    return frozenset(e.strip() for e in os.environ.get(REQUIRED_EXTRAS_ENV, "").split(",")
                     if e.strip())


def _fail_if_forbidden(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    required = _required_extras()
    if not skip_is_allowed(reason, _under_ci(), required):
        report.outcome = "failed"
        if _EXTRA_NAMED.match(reason.removeprefix("Skipped: ")):
            named = ",".join(sorted(required))
            report.longrepr = (f"skipped although {REQUIRED_EXTRAS_ENV}={named} says its extra "
                               f"is installed ({reason})")
        else:
            report.longrepr = (f"skipped under CI, where this must run ({reason}); a skip CI "
                               f"accepts says {OPTIONAL_SKIP!r}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_if_forbidden(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_if_forbidden(outcome.get_result())
