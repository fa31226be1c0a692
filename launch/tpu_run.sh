#!/usr/bin/env bash
# Runs one command on every worker of every slice at once (multi-host JAX needs every host to
# run the same program). MATHFT_MULTIHOST=1 makes each entry point call
# jax.distributed.initialize(), which reads the hosts (and slices) from the TPU metadata.
#   TPU_NAME=mathft bash launch/tpu_run.sh [--dry-run] python -m mathft_jax.train \
#       --gin_file=... --gin.MODEL_DIR="'gs://bucket/run'"
# Each worker writes ~/mathft_logs/<RUN_ID>.log and points ~/mathft_logs/latest.log at it;
# launch/tpu_logs.sh streams them.
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
[ $# -gt 0 ] || { echo "usage: tpu_run.sh [--dry-run] COMMAND..." >&2; exit 2; }
RUN_ID="${RUN_ID:-$(date +%Y%m%d_%H%M%S)}"
CMD="$(printf '%q ' "$@")"
LOG="\$HOME/mathft_logs/$RUN_ID.log"
REMOTE="cd $REMOTE_DIR && source \$HOME/mathft_venv/bin/activate && mkdir -p \$HOME/mathft_logs && ln -sf $LOG \$HOME/mathft_logs/latest.log && MATHFT_MULTIHOST=1 ${CMD}> $LOG 2>&1"
for node in $(nodes); do
  # Slices start together: each ssh returns when its slice's program ends.
  tpu_vm_all ssh "$node" --worker=all --command="$REMOTE"
done
wait_all
