#!/usr/bin/env bash
# Creates the TPU VM(s): one slice directly, or through a queued resource (QUEUED=1, and
# always for NUM_SLICES > 1, which gives nodes $TPU_NAME-0 .. -(N-1)).
#   TPU_NAME=mathft ACCELERATOR_TYPE=v4-32 bash launch/tpu_create.sh [--dry-run] [--spot]
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
if [ "$QUEUED" = 1 ]; then
  if [ "$NUM_SLICES" -gt 1 ]; then
    target=(--node-count="$NUM_SLICES" --node-prefix="$TPU_NAME")
  else
    target=(--node-id="$TPU_NAME")
  fi
  queued create "$TPU_NAME-qr" "${target[@]}" --accelerator-type="$ACCELERATOR_TYPE" \
    --runtime-version="$RUNTIME_VERSION" "$@"
  echo "queued; watch it with: gcloud compute tpus queued-resources describe $TPU_NAME-qr" \
    "--zone=$ZONE (state ACTIVE = ready)" >&2
else
  tpu_vm create "$TPU_NAME" --accelerator-type="$ACCELERATOR_TYPE" \
    --version="$RUNTIME_VERSION" "$@"
fi
