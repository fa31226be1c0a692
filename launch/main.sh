#!/usr/bin/env bash
# The main job: the paper's recipe in miniature on the built-in synthetic benchmark
# (python -m mathft_jax.recipe with gin_configs/recipe/synthetic_mini.gin): SSFT on detailed
# and on terse solutions, evaluator data from the training problems, the likelihood verifier
# and the paper's margin evaluator, the multi-task sequential model (from the verifier) with its
# extra-MLE-steps control, sampling and scoring the test problems, grading, voting, re-ranking,
# and the report with the table and the three findings' verdicts. GIN_FILE=
# gin_configs/recipe/synthetic_full.gin adds the classification and mixture evaluators and the
# joint mixture at larger sizes.
#   bash launch/main.sh
# Environment: RUN_DIR (runs/main); SEEDS (e.g. "0,1,2": one run per seed and a report
# aggregating them); GIN_FILE (another recipe config). Extra arguments go to the recipe
# (e.g. --gin.RecipeSettings.test_problems=50). A rerun skips finished stages and continues
# an interrupted one.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh"
cd "$REPO_ROOT"
RUN_DIR="${RUN_DIR:-runs/main}"
GIN_FILE="${GIN_FILE:-gin_configs/recipe/synthetic_mini.gin}"
args=(--gin_file="$GIN_FILE" --gin.RUN_DIR="'$RUN_DIR'")
if [ -n "${SEEDS:-}" ]; then
  args+=(--gin.recipe.seeds="(${SEEDS},)")
fi
start=$(date +%s)
python -m mathft_jax.recipe "${args[@]}" "$@"
echo "main job finished in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
