#!/usr/bin/env bash
# Runs the test suite in the project virtualenv (created on first use).
#   bash launch/test.sh                 # default suite (fast; slow tests deselected)
#   bash launch/test.sh -m slow         # the slow tier (long training, real model)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh" test
cd "$REPO_ROOT"
# The slowest tests are listed at the end, so a CI log shows where the time went.
exec python -m pytest --durations=25 "$@"
