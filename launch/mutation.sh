#!/usr/bin/env bash
# Mutation testing (mutmut) of the grading and metrics code: on demand, never in the default
# suite. Each mutant (one small change to one function) is run against the fast tests that
# call that function; a mutant the tests do not notice "survives" and is listed at the end.
#   bash launch/mutation.sh                  # mathft_jax/evaluation/, training/ and evaluator/ losses
#   bash launch/mutation.sh mathft_jax/evaluation/metrics.py ...   # only these files (globs)
# Env: PYTHON (default: the project venv's, else python3), MUTATION_JOBS (default: CPU count),
# MUTATION_WORK (the scratch folder, default build/mutation; one per run keeps each run's results),
# MUTANTS (only these mutant names or globs, e.g. the survivors of an earlier run).
# Runs done in parts merge into one score for today's code with launch/mutation_merge.py, which
# also lists what is still to run (--todo).
# Works in a scratch copy (build/mutation/) of the tracked and untracked-but-not-ignored files,
# so the work tree is never mutated. Needs the `mutation` extra (pip install '.[mutation]').
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$REPO_ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
MUTMUT="$(dirname "$PYTHON")/mutmut"
[ -x "$MUTMUT" ] || { echo "error: mutmut not installed for $PYTHON: pip install '.[mutation]'" >&2; exit 2; }
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("mathft_jax/evaluation/*.py" "mathft_jax/training/losses.py"
  "mathft_jax/evaluator/losses.py")

# Absolute: the script changes into it, and PYTHONPATH below must still name it.
WORK="$(realpath -m "${MUTATION_WORK:-$REPO_ROOT/build/mutation}")"
rm -rf "$WORK" && mkdir -p "$WORK"
(cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard \
  | xargs -0 -I{} cp --parents {} "$WORK"/ 2>/dev/null || true)
{
  echo "[mutmut]"
  echo "source_paths = mathft_jax"
  echo "only_mutate ="
  printf '    %s\n' "${TARGETS[@]}"
  # The package __init__ files only re-export: nothing to mutate.
  echo "do_not_mutate ="
  echo "    */__init__.py"
  echo "also_copy ="
  echo "    pytest.ini"
  echo "    tasks"
  echo "    gin_configs"
  # The fast tests of these modules; mutmut runs, for each mutant, those that call its
  # function. The hostile-input tests assert verdicts, not wall-clock times (the bound is the
  # grader's own time-out), so they run here too and guard the size checks.
  echo "pytest_add_cli_args_test_selection ="
  printf '    %s\n' tests/evaluation tests/evaluator tests/training/test_losses.py \
    tests/test_doctests.py tests/test_evaluate.py
  echo "pytest_add_cli_args ="
  # That test runs a grading script from a scratch folder, where mutmut's instrumented copy
  # cannot find its setup.cfg; it checks how the worker process starts, not a verdict.
  echo "    --ignore=tests/evaluation/test_top_level_use.py"
  echo "    -p"
  echo "    no:xdist"
  echo "    -x"
  # Mutants run in processes forked from a server that has imported the tests but never run
  # JAX: forking a process whose JAX runtime has started threads can deadlock.
  echo "process_isolation = forkserver"
  # A mutant's time limit is 15 x (its tests' measured time + this constant). The measured
  # times leave out the session fixtures, and every mutant starts its own symbolic worker (a
  # fresh Python that imports SymPy, ~15 s on a loaded machine): with the default 1 s an
  # unchanged grader "timed out", which counted as killed.
  echo "timeout_constant = 5"
  [ -z "${MUTATION_DEBUG:-}" ] || echo "debug = true"
} > "$WORK/setup.cfg"

cd "$WORK"
# The mutated copy, not an editable install elsewhere, is what the tests import, also in the
# subprocesses they start. The folder must exist before Python starts: a path missing at
# start-up is never searched again.
mkdir -p "$WORK/mutants"
export PYTHONPATH="$WORK/mutants"
echo "mutating ${TARGETS[*]} (progress: $WORK/run.log)"
# MUTANTS (optional): mutmut names or globs to run instead of every mutant, e.g.
# "mathft_jax.evaluation.symbolic.* mathft_jax.evaluation.normalization.x_rounds_to__mutmut_*".
read -r -a SELECTED <<< "${MUTANTS:-}"
if ! "$MUTMUT" run --max-children "${MUTATION_JOBS:-$(nproc)}" "${SELECTED[@]}" \
    > "$WORK/run.log" 2>&1; then
  tail -c 3000 "$WORK/run.log" >&2
  echo "error: mutmut run failed (log: $WORK/run.log; MUTATION_DEBUG=1 shows pytest's error)" >&2
  exit 1
fi
"$MUTMUT" export-cicd-stats > /dev/null
"$PYTHON" - <<'PY'
import json
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
killed = stats["killed"] + stats["timeout"] + stats["segfault"]
print(f"mutants: {stats['total']}, killed {killed} (of which by timeout {stats['timeout']}), "
      f"survived {stats['survived']}, no tests {stats['no_tests']}, "
      f"suspicious {stats['suspicious']}, skipped {stats['skipped']}, "
      f"raw score {100 * killed / max(1, killed + stats['survived'] + stats['no_tests']):.1f}%")
# Per file, from mutmut's own records (also readable after an interrupted run).
import collections, pathlib
from mutmut.stats import status_by_exit_code
for meta in sorted(pathlib.Path("mutants").rglob("*.py.meta")):
    codes = json.loads(meta.read_text())["exit_code_by_key"].values()
    tally = collections.Counter(status_by_exit_code[c] for c in codes)
    print(f"  {meta.relative_to('mutants').as_posix()[:-5]}: {len(codes)} mutants, "
          + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
PY
echo "surviving mutants (inspect one with: cd $WORK && $MUTMUT show NAME):"
"$MUTMUT" results | grep -v ": not checked" || true
