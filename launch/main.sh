#!/usr/bin/env bash
# The main job: fine-tune the small preset on the built-in synthetic benchmark, sample greedy +
# N solutions per test problem, grade them (clusters, voting, pass@k) and write the report.
#   bash launch/main.sh
# Environment overrides: RUN_DIR (runs/main), TRAIN_STEPS (300), NUM_SAMPLES (16),
# MAX_PROBLEMS (100). Every stage resumes where it stopped when re-run.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh"
cd "$REPO_ROOT"
RUN_DIR="${RUN_DIR:-runs/main}"
TRAIN_STEPS="${TRAIN_STEPS:-300}"
NUM_SAMPLES="${NUM_SAMPLES:-16}"
MAX_PROBLEMS="${MAX_PROBLEMS:-100}"
mkdir -p "$RUN_DIR"

echo "== 1/3 solution fine-tuning ($TRAIN_STEPS steps) -> $RUN_DIR/sft"
python -m mathft_jax.train --gin_file=gin_configs/experiments/synthetic_small_sft.gin \
  --gin.MODEL_DIR="'$RUN_DIR/sft'" --gin.TRAIN_STEPS="$TRAIN_STEPS"

echo "== 2/3 sampling greedy + $NUM_SAMPLES per problem on $MAX_PROBLEMS test problems"
python -m mathft_jax.infer --gin_file=gin_configs/experiments/synthetic_small_infer.gin \
  --gin.CHECKPOINT="'$RUN_DIR/sft'" --gin.OUTPUT_FILE="'$RUN_DIR/candidates.jsonl'" \
  --gin.NUM_SAMPLES="$NUM_SAMPLES" --gin.MAX_PROBLEMS="$MAX_PROBLEMS"

echo "== 3/3 grading, voting and report -> $RUN_DIR/eval"
python -m mathft_jax.evaluate --gin_file=gin_configs/runs/evaluate.gin \
  --gin.CANDIDATES_FILE="'$RUN_DIR/candidates.jsonl'" --gin.OUTPUT_DIR="'$RUN_DIR/eval'" \
  --gin.PASS_KS="(1, 4, 16)" --gin.MAJ_KS="(4, 8)"
cat "$RUN_DIR/eval/report.md"
