#!/usr/bin/env bash
# Runs the test suite in the project virtualenv (created on first use), in parallel.
#   bash launch/test.sh                       # default tier (slow tests deselected)
#   bash launch/test.sh -m slow               # the slow tier (long training, real model)
#   MATHFT_TEST_WORKERS=0 bash launch/test.sh # serial, in this one process
# MATHFT_TEST_WORKERS (default: the number of CPU cores) is the number of pytest-xdist worker
# processes; 0 or 1 runs the tests in this one process. Each test file runs whole in one
# worker (`--dist loadfile`), so a module's fixtures are built once and tests that share a
# file never run at the same time. MATHFT_TEST_EXTRAS (default: test) are the extras installed
# first (`.ci/run` adds the documented ones: test,gcs,hf).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh" "${MATHFT_TEST_EXTRAS:-test}"
cd "$REPO_ROOT"
WORKERS="${MATHFT_TEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}"
if ! [[ "$WORKERS" =~ ^[0-9]+$ ]]; then
  echo "error: MATHFT_TEST_WORKERS must be a whole number (0 runs serially), got '$WORKERS'" >&2
  exit 2
fi
PARALLEL=(-n 0)
[ "$WORKERS" -gt 1 ] && PARALLEL=(-n "$WORKERS" --dist loadfile)
# The slowest tests are listed at the end, so a CI log shows where the time went.
exec python -m pytest "${PARALLEL[@]}" --durations=25 "$@"
