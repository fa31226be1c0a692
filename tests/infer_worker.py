"""One process of the multi-host infer check; `tests/test_distributed_infer.py` starts one
(the reference) or two (MATHFT_COORDINATOR etc. set, see `mathft_jax.distributed`).

    python -m tests.infer_worker OUTPUT_FILE CHECKPOINT

Decodes `tests/test_infer.py`'s tiny task with its settings (4 problems a chunk; with two
hosts each decodes the problems whose index has its parity) and prints the summary as the
last line.
"""

from __future__ import annotations

import json
import sys

from mathft_jax import distributed

distributed.maybe_initialize()  # before anything touches the devices

from mathft_jax.infer import infer  # noqa: E402
from tests.test_infer import SETTINGS  # noqa: E402  (registers the task)

if __name__ == "__main__":
    output_file, checkpoint = sys.argv[1:3]
    summary = infer(output_file=output_file, **{**SETTINGS, "checkpoint": checkpoint})
    print(json.dumps(summary), flush=True)
