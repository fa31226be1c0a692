#!/usr/bin/env bash
# Copies a directory (reports, candidates, logs) back from worker 0.
#   TPU_NAME=mathft bash launch/tpu_fetch.sh REMOTE_PATH LOCAL_DIR
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
[ $# -eq 2 ] || { echo "usage: tpu_fetch.sh REMOTE_PATH LOCAL_DIR" >&2; exit 2; }
mkdir -p "$2"
gcloud_tpu scp --recurse "$TPU_NAME:$1" "$2" --worker=0
