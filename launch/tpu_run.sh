#!/usr/bin/env bash
# Runs one command on every worker of the TPU VM at once (multi-host JAX needs every host to
# run the same program; jax.distributed initialises itself from the TPU metadata).
#   TPU_NAME=mathft bash launch/tpu_run.sh python -m mathft_jax.train \
#       --gin_file=gin_configs/experiments/... --gin.MODEL_DIR="'gs://bucket/run'"
# Output of each worker goes to ~/mathft_logs/<timestamp>.log on that worker.
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
[ $# -gt 0 ] || { echo "usage: tpu_run.sh COMMAND..." >&2; exit 2; }
STAMP="$(date +%Y%m%d_%H%M%S)"
CMD="$(printf '%q ' "$@")"
gcloud_tpu ssh "$TPU_NAME" --worker=all --command="
  cd $REMOTE_DIR && source \$HOME/mathft_venv/bin/activate && mkdir -p \$HOME/mathft_logs &&
  MATHFT_MULTIHOST=1 $CMD 2>&1 | tee \$HOME/mathft_logs/$STAMP.log"
