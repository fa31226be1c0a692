"""One tiny training run, in-process or as a subprocess (for kill / SIGTERM tests).

    python -m tests.training.tiny_run MODEL_DIR TRAIN_STEPS [--kill-at N] [--sigterm-at N]

`--kill-at N` SIGKILLs the process right after step N's checkpoint save was started (it may
still be in flight); `--sigterm-at N` sends SIGTERM to itself after step N.
"""

from __future__ import annotations

import argparse
import os
import signal

from mathft_jax.training import optimizers, trainer
from tests import kit
from tests.training import tiny_task

CONFIG = kit.tiny_config(vocab_size=320, max_seq_len=64)


def fast_optimizer(train_steps: int, peak: float = 3e-3) -> dict:
    """The `optimizer`, `schedule` and `optimizer_settings` arguments of train_loop for tiny
    runs."""
    return optimizers.build_optimizer(
        train_steps, schedule={"peak_value": peak, "warmup_steps": 2, "decay": "cosine"}
    ).train_loop_args()


def run(model_dir: str, train_steps: int, **kwargs) -> trainer.TrainResult:
    options = dict(model_config=CONFIG, model_dir=model_dir,
                   mixture_or_task_name=tiny_task.TASK_NAME, train_steps=train_steps,
                   **fast_optimizer(train_steps),
                   batch_size=4, sequence_length=64, log_every=1000, checkpoint_every=2,
                   keep_checkpoints=2)
    options.update(kwargs)
    return trainer.train_loop(**options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("train_steps", type=int)
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--sigterm-at", type=int, default=0)
    args = parser.parse_args()

    def callback(step, state):
        del state
        if step == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if step == args.sigterm_at:
            os.kill(os.getpid(), signal.SIGTERM)

    result = run(args.model_dir, args.train_steps, step_callbacks=[callback])
    print(f"finished step={result.step} preempted={result.preempted}", flush=True)


if __name__ == "__main__":
    main()
