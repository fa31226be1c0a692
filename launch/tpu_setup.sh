#!/usr/bin/env bash
# Copies this repository to every worker of the TPU VM and installs it with the `tpu` extra.
#   TPU_NAME=mathft bash launch/tpu_setup.sh
set -euo pipefail
source "$(dirname "$0")/tpu_common.sh"
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ARCHIVE="$(mktemp -d)/mathft_jax.tar.gz"
git -C "$REPO_ROOT" archive --format=tar.gz -o "$ARCHIVE" HEAD
gcloud_tpu scp "$ARCHIVE" "$TPU_NAME:/tmp/mathft_jax.tar.gz" --worker=all
gcloud_tpu ssh "$TPU_NAME" --worker=all --command="
  set -e; mkdir -p $REMOTE_DIR && tar -xzf /tmp/mathft_jax.tar.gz -C $REMOTE_DIR
  cd $REMOTE_DIR && VENV=\$HOME/mathft_venv bash -c 'source launch/setup_env.sh tpu'"
