#!/usr/bin/env bash
# Creates (or reuses) the project virtualenv and installs mathft_jax with the given extras.
# Usage: source launch/setup_env.sh [EXTRAS]      e.g. `source launch/setup_env.sh test`
# VENV (default: .venv in the repository) and PYTHON (default: python3) can be overridden.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO_ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
fi
SPEC="$REPO_ROOT"
[ -n "$EXTRAS" ] && SPEC="$REPO_ROOT[$EXTRAS]"
# A stamp of setup.py's hash skips the (slow) resolver when nothing changed.
STAMP="$VENV/.mathft_jax_installed_${EXTRAS:-base}"
HASH="$(sha256sum "$REPO_ROOT/setup.py" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  # setuptools' editable-install notice (a BuildBackendWarning on every fresh install) is
  # not the user's to act on; errors still print.
  PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q -e "$SPEC"
  echo "$HASH" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
set +euo pipefail
