#!/usr/bin/env bash
# Settings shared by the Cloud TPU VM scripts. Override any of them in the environment.
TPU_NAME="${TPU_NAME:?set TPU_NAME, e.g. export TPU_NAME=mathft-v4-32}"
ZONE="${ZONE:-us-central2-b}"
ACCELERATOR_TYPE="${ACCELERATOR_TYPE:-v4-32}"
RUNTIME_VERSION="${RUNTIME_VERSION:-tpu-ubuntu2204-base}"
PROJECT_FLAG="${GCP_PROJECT:+--project=$GCP_PROJECT}"
REMOTE_DIR="${REMOTE_DIR:-~/mathft_jax}"
gcloud_tpu() { gcloud compute tpus tpu-vm "$@" --zone="$ZONE" $PROJECT_FLAG; }
