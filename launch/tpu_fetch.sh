#!/usr/bin/env bash
# Copies a directory (reports, candidates, logs) back from worker 0 of the first slice.
#   TPU_NAME=mathft bash launch/tpu_fetch.sh [--dry-run] REMOTE_PATH LOCAL_DIR
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
[ $# -eq 2 ] || { echo "usage: tpu_fetch.sh [--dry-run] REMOTE_PATH LOCAL_DIR" >&2; exit 2; }
run mkdir -p "$2"
tpu_vm scp --recurse "$(nodes | head -n 1):$1" "$2" --worker=0
