"""One process of the multi-host infer and score checks; `tests/test_distributed_infer.py`
starts one (the reference) or two (MATHFT_COORDINATOR etc. set, see `mathft_jax.distributed`).

    python -m tests.infer_worker OUTPUT_FILE CHECKPOINT
    python -m tests.infer_worker OUTPUT_FILE CHECKPOINT --score CANDIDATES_FILE

Decodes `tests/test_infer.py`'s tiny task with its settings (4 problems a chunk; with two
hosts each decodes the problems whose index has its parity), or scores CANDIDATES_FILE with
CHECKPOINT as the evaluator (3 problems a chunk, so the hosts' shares of a chunk differ),
and prints the summary as the last line.
"""

from __future__ import annotations

import json
import sys

from mathft_jax import distributed

distributed.maybe_initialize()  # before anything touches the devices

from mathft_jax.infer import infer  # noqa: E402
from tests.kit import INFER_SETTINGS as SETTINGS  # noqa: E402  (registers the task)


def _score(output_file: str, checkpoint: str, candidates_file: str) -> dict:
    from mathft_jax.score import score
    return score(model_config=SETTINGS["model_config"], checkpoint=checkpoint,
                 candidates_file=candidates_file, output_file=output_file,
                 like_task=SETTINGS["mixture_or_task_name"], positive=" Y", negative=" N",
                 batch_size=4, chunk_problems=3, show_progress=False)


if __name__ == "__main__":
    output_file, checkpoint = sys.argv[1:3]
    if sys.argv[3:4] == ["--score"]:
        summary = _score(output_file, checkpoint, sys.argv[4])
    else:
        summary = infer(output_file=output_file, **{**SETTINGS, "checkpoint": checkpoint})
    print(json.dumps(summary), flush=True)
