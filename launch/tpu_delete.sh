#!/usr/bin/env bash
# Deletes the TPU VM, or the queued resource with its nodes (stops billing).
#   TPU_NAME=mathft bash launch/tpu_delete.sh [--dry-run]
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
if [ "$QUEUED" = 1 ]; then
  queued delete "$TPU_NAME-qr" --force --quiet
else
  tpu_vm delete "$TPU_NAME" --quiet
fi
