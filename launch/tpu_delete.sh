#!/usr/bin/env bash
# Deletes the TPU VM (stops billing).   TPU_NAME=mathft bash launch/tpu_delete.sh
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
gcloud_tpu delete "$TPU_NAME" --quiet
