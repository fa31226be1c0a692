#!/usr/bin/env bash
# The evaluator data-scaling study (python -m mathft_jax.recipe with
# gin_configs/recipe/evaluator_scaling.gin, `mathft_jax/recipe/scaling.py`): from the main job's
# detailed SSFT generator, evaluators trained on the first 250 / 1,000 sampled training solutions
# with outcome labels (classification loss), step labels (step evaluator) and the language-model
# loss with token labels (the likelihood verifier), each scored on the same test problems;
# report: RUN_DIR/scaling_report/scaling.md (and scaling.json, scaling.png), within-problem AUC
# against the generator's own likelihood.
#   bash launch/evaluator_scaling.sh
# Environment: RUN_DIR (runs/main: the study's settings are the main job's, so after
# `bash launch/main.sh` its generator, samples and likelihood baselines are reused and only the
# study's own stages run; in an empty folder it runs the chain's stages it needs first). Extra
# arguments go to the recipe (e.g. --gin.ScalingSettings.sizes="(250, 1000, 1792)"). A rerun
# skips finished stages.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh"
cd "$REPO_ROOT"
RUN_DIR="${RUN_DIR:-runs/main}"
start=$(date +%s)
python -m mathft_jax.recipe --gin_file=gin_configs/recipe/evaluator_scaling.gin \
  --gin.RUN_DIR="'$RUN_DIR'" "$@"
echo "evaluator scaling study finished in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
