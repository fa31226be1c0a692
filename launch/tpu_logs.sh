#!/usr/bin/env bash
# Streams the latest run's log of every worker (WORKER=0 for one), until interrupted.
#   TPU_NAME=mathft bash launch/tpu_logs.sh [--dry-run]
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
for node in $(nodes); do
  tpu_vm_all ssh "$node" --worker="${WORKER:-all}" \
    --command="tail -n +1 -F \$HOME/mathft_logs/latest.log"
done
wait_all
