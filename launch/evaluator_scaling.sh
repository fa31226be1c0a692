#!/usr/bin/env bash
# The evaluator data-scaling study (python -m mathft_jax.recipe with
# gin_configs/recipe/evaluator_scaling.gin, `mathft_jax/recipe/scaling.py`): from the main job's
# detailed SSFT generator, evaluators trained on 250 / 1,000 / 4,000 sampled training solutions
# with outcome labels (classification loss), step labels (step evaluator) and the language-model
# loss with token labels (the likelihood verifier), each scored on the same test problems;
# report: RUN_DIR/scaling_report/scaling.md (and scaling.json, scaling.png), within-problem AUC
# against the generator's own likelihood.
#   bash launch/evaluator_scaling.sh
# Environment: RUN_DIR (runs/evaluator_scaling). The generator and test-sample stages have the
# main job's fingerprints: copying runs/main/sft_detailed and runs/main/test_sft_detailed into
# RUN_DIR first skips them. Extra arguments go to the recipe (e.g.
# --gin.ScalingSettings.sizes="(250, 1000)"). A rerun skips finished stages.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh"
cd "$REPO_ROOT"
RUN_DIR="${RUN_DIR:-runs/evaluator_scaling}"
start=$(date +%s)
python -m mathft_jax.recipe --gin_file=gin_configs/recipe/evaluator_scaling.gin \
  --gin.RUN_DIR="'$RUN_DIR'" "$@"
echo "evaluator scaling study finished in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
