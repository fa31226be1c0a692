#!/usr/bin/env bash
# Copies this repository (git HEAD) to every worker of every slice and installs it with the
# `tpu` extra into ~/mathft_venv.
#   TPU_NAME=mathft bash launch/tpu_setup.sh [--dry-run]
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ARCHIVE="${ARCHIVE:-/tmp/mathft_jax_$TPU_NAME.tar.gz}"
run git -C "$REPO_ROOT" archive --format=tar.gz -o "$ARCHIVE" HEAD
for node in $(nodes); do
  tpu_vm scp "$ARCHIVE" "$node:/tmp/mathft_jax.tar.gz" --worker=all
  tpu_vm ssh "$node" --worker=all --command="set -e; mkdir -p $REMOTE_DIR; tar -xzf /tmp/mathft_jax.tar.gz -C $REMOTE_DIR; cd $REMOTE_DIR; VENV=\$HOME/mathft_venv bash launch/setup_env.sh tpu"
done
