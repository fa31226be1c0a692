#!/usr/bin/env bash
# Creates a Cloud TPU VM (a pod slice when ACCELERATOR_TYPE spans several hosts).
#   TPU_NAME=mathft ACCELERATOR_TYPE=v4-32 ZONE=us-central2-b bash launch/tpu_create.sh [--spot]
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
gcloud_tpu create "$TPU_NAME" --accelerator-type="$ACCELERATOR_TYPE" \
  --version="$RUNTIME_VERSION" "$@"
