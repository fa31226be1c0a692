#!/usr/bin/env bash
# One SSFT setting, measured: fine-tune on synthetic_sft, decode greedy + 8 samples for 60
# test problems, grade and vote. The README's regime table ("The main job") comes from it.
#   bash launch/sft_probe.sh RUN_DIR STEPS LEARNING_RATE LEVELS [MODEL_GIN] [--gin.X=...]
#   bash launch/sft_probe.sh runs/probe 600 1e-3 "(1,)" gin_configs/models/mini.gin
# Prints the wall time of training and decoding and the report's overall row.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/launch/setup_env.sh"
cd "$REPO_ROOT"
if [ $# -lt 4 ]; then
  echo "usage: bash launch/sft_probe.sh RUN_DIR STEPS LEARNING_RATE LEVELS [MODEL_GIN] [gin flags]" >&2
  exit 2
fi
DIR=$1; STEPS=$2; LR=$3; LEVELS=$4; MODEL=${5:-gin_configs/models/mini.gin}; shift $(( $# < 5 ? $# : 5 ))
mkdir -p "$DIR"
start=$(date +%s)
python -m mathft_jax.train --gin_file=gin_configs/experiments/synthetic_small_sft.gin \
  --gin_file="$MODEL" --gin.MODEL_DIR="'$DIR/sft'" --gin.TRAIN_STEPS="$STEPS" \
  --gin.LEARNING_RATE="$LR" --gin.tasks.synthetic_task_options.levels="$LEVELS" \
  --gin.train.eval_every="$STEPS" --gin.train.checkpoint_every="$STEPS" "$@" > "$DIR/train.log" 2>&1
trained=$(date +%s)
python -m mathft_jax.infer --gin_file=gin_configs/experiments/synthetic_small_infer.gin \
  --gin_file="$MODEL" --gin.CHECKPOINT="'$DIR/sft'" --gin.OUTPUT_FILE="'$DIR/candidates.jsonl'" \
  --gin.NUM_SAMPLES=8 --gin.MAX_PROBLEMS=60 --gin.MAX_NEW_TOKENS=176 --gin.BATCH_SIZE=16 \
  --gin.tasks.synthetic_task_options.levels="$LEVELS" > "$DIR/infer.log" 2>&1
decoded=$(date +%s)
python -m mathft_jax.evaluate --gin_file=gin_configs/runs/evaluate.gin \
  --gin.CANDIDATES_FILE="'$DIR/candidates.jsonl'" --gin.OUTPUT_DIR="'$DIR/eval'" \
  --gin.PASS_KS="(1, 8)" --gin.MAJ_KS="(4,)" > "$DIR/evaluate.log" 2>&1
echo "train $((trained - start)) s, decode $((decoded - trained)) s"
grep "eval step" "$DIR/train.log" | tail -1
grep -m1 -A2 "| group" "$DIR/eval/report.md"
