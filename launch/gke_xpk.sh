#!/usr/bin/env bash
# GKE path: a TPU cluster and workloads through xpk (`pip install xpk`; it needs gcloud,
# kubectl and docker). xpk builds an image from BASE_IMAGE plus this checkout (--script-dir)
# and starts the command on every host of every slice; JAX finds its peers from the TPU
# environment that GKE sets, so MATHFT_MULTIHOST=1 is all the entry points need.
#   CLUSTER=mathft TPU_TYPE=v5p-256 NUM_SLICES=2 bash launch/gke_xpk.sh [--dry-run] ACTION [ARGS]
# ACTION: cluster-create [xpk flags, e.g. --spot | --reservation=ID]
#         run WORKLOAD COMMAND...      (e.g. run sft-1 python -m mathft_jax.train --gin_file=...)
#         logs WORKLOAD | delete WORKLOAD | cluster-delete
set -euo pipefail
source "$(dirname "$0")/dry_run.sh"
CLUSTER="${CLUSTER:?set CLUSTER, e.g. export CLUSTER=mathft}"
TPU_TYPE="${TPU_TYPE:-v5p-256}"
NUM_SLICES="${NUM_SLICES:-1}"
ZONE="${ZONE:-us-east5-a}"
BASE_IMAGE="${BASE_IMAGE:-python:3.11-slim}"
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FLAGS=(--cluster="$CLUSTER" --zone="$ZONE")
[ -n "${GCP_PROJECT:-}" ] && FLAGS+=(--project="$GCP_PROJECT")
ACTION="${1:?usage: gke_xpk.sh [--dry-run] cluster-create|run|logs|delete|cluster-delete ...}"
shift
case "$ACTION" in
  cluster-create)
    run xpk cluster create "${FLAGS[@]}" --tpu-type="$TPU_TYPE" --num-slices="$NUM_SLICES" "$@" ;;
  run)
    [ $# -ge 2 ] || { echo "usage: gke_xpk.sh run WORKLOAD COMMAND..." >&2; exit 2; }
    workload="$1"; shift
    cmd="pip install -q -e '.[tpu]' && MATHFT_MULTIHOST=1 $(printf '%q ' "$@")"
    run xpk workload create "${FLAGS[@]}" --workload="$workload" --tpu-type="$TPU_TYPE" \
      --num-slices="$NUM_SLICES" --base-docker-image="$BASE_IMAGE" --script-dir="$REPO_ROOT" \
      --command="${cmd% }" ;;
  logs)
    run kubectl logs --follow --max-log-requests=64 --prefix \
      --selector="jobset.sigs.k8s.io/jobset-name=${1:?usage: gke_xpk.sh logs WORKLOAD}" ;;
  delete)
    run xpk workload delete "${FLAGS[@]}" --workload="${1:?usage: gke_xpk.sh delete WORKLOAD}" ;;
  cluster-delete)
    run xpk cluster delete "${FLAGS[@]}" ;;
  *)
    echo "unknown action $ACTION (cluster-create, run, logs, delete, cluster-delete)" >&2; exit 2 ;;
esac
