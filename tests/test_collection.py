"""Test ids are stable: a second collection in the same process names every test the same.

mutmut's fork server collects the tests once, then runs a mutant's tests by the ids recorded in
another process; an id that changes between collections (pytest 9 escapes an explicit id's
backslashes again on a second collection) is "not found", pytest exits 4 and mutmut reports the
mutant as a time-out (`tests/evaluation/case_ids.py`).
"""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import contextlib, io, json, sys, pytest
ids = []
for _ in range(2):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"])
    ids.append([line for line in out.getvalue().splitlines() if "::" in line])
print(json.dumps(ids))
"""


def test_a_second_collection_in_one_process_gives_the_same_ids():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    first, second = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(first) > 1000
    changed = sorted(set(first) ^ set(second))
    assert not changed, changed[:5]
