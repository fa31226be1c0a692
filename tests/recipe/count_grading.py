"""python -m tests.recipe.count_grading LOG [recipe flags]: `python -m mathft_jax.recipe` with
every grading logged.

Each call of the grading (`evaluation.problems._grade`, under `grade_problems` whoever calls
it) appends one line to LOG: `rows_key` of the rows it graded, so a test can tell which
candidates file (or part of one) was graded how many times.
"""

import hashlib
import json
import runpy
import sys

from mathft_jax.evaluation import problems


def rows_key(rows) -> str:
    """A digest of candidate rows (order-free): equal for the same rows of one file. The
    checkpoint that wrote a row is part of it: two generators may write the same texts (the
    toy recipe's detailed and terse tasks are one task)."""
    keys = sorted((r["problem_id"], r["decoding"], r["sample_index"], r["text"],
                   r.get("checkpoint")) for r in rows)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]


def main() -> None:
    log, flags = sys.argv[1], sys.argv[2:]
    grade = problems._grade

    def logged(rows, *args, **kwargs):
        with open(log, "a") as f:
            f.write(rows_key(rows) + "\n")
        return grade(rows, *args, **kwargs)

    problems._grade = logged
    sys.argv = ["mathft_jax.recipe", *flags]
    runpy.run_module("mathft_jax.recipe", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
