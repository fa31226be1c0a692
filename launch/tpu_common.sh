#!/usr/bin/env bash
# Settings shared by the Cloud TPU VM scripts (source it first). Override any in the environment.
#   TPU_NAME          the TPU VM (one slice), or the node prefix of a multi-slice request
#   ACCELERATOR_TYPE  v4-32, v5litepod-64 (v5e), v5p-128, ...
#   RUNTIME_VERSION   the TPU software image (v4: tpu-ubuntu2204-base, v5e: v2-alpha-tpuv5-lite,
#                     v5p: v2-alpha-tpuv5)
#   NUM_SLICES        slices joined over DCN (> 1 needs a queued resource: QUEUED=1 is implied)
#   QUEUED=1          request capacity through a queued resource named "$TPU_NAME-qr"
#   ZONE, GCP_PROJECT, REMOTE_DIR
# Every script takes --dry-run as its first argument: it prints each command (shell-quoted,
# one a line) instead of running it.
source "$(dirname "${BASH_SOURCE[0]}")/dry_run.sh"
TPU_NAME="${TPU_NAME:?set TPU_NAME, e.g. export TPU_NAME=mathft-v4-32}"
ZONE="${ZONE:-us-central2-b}"
ACCELERATOR_TYPE="${ACCELERATOR_TYPE:-v4-32}"
RUNTIME_VERSION="${RUNTIME_VERSION:-tpu-ubuntu2204-base}"
NUM_SLICES="${NUM_SLICES:-1}"
QUEUED="${QUEUED:-0}"
[ "$NUM_SLICES" -gt 1 ] && QUEUED=1
REMOTE_DIR="${REMOTE_DIR:-~/mathft_jax}"
GCLOUD_FLAGS=(--zone="$ZONE")
[ -n "${GCP_PROJECT:-}" ] && GCLOUD_FLAGS+=(--project="$GCP_PROJECT")

# The TPU VM names: TPU_NAME, or TPU_NAME-0 .. TPU_NAME-(N-1) for N slices.
nodes() {
  if [ "$NUM_SLICES" -gt 1 ]; then
    for ((i = 0; i < NUM_SLICES; i++)); do echo "$TPU_NAME-$i"; done
  else
    echo "$TPU_NAME"
  fi
}

tpu_vm() { run gcloud compute tpus tpu-vm "$@" "${GCLOUD_FLAGS[@]}"; }
tpu_vm_all() { run_all gcloud compute tpus tpu-vm "$@" "${GCLOUD_FLAGS[@]}"; }
queued() { run gcloud compute tpus queued-resources "$@" "${GCLOUD_FLAGS[@]}"; }
