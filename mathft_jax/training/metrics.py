"""Training metrics: TensorBoard summaries via clu metric writers and a console progress line.

TensorBoard event files go to `MODEL_DIR/train` and `MODEL_DIR/eval`, or to `SUMMARY_DIR/train`
and `SUMMARY_DIR/eval` with `summary_dir` set (`train.summary_dir`), or nowhere with
`summaries=False` (`train.summaries`; the scalars still reach the progress line and the
log); process 0 writes them, other processes only log. clu writes them through TensorFlow's
`tf.io.gfile`, whose GCS client has its endpoint compiled in: with `MODEL_DIR` on `gs://`
behind a GCS emulator (or a proxy), keep the summaries local or off. The console line looks like

    step 200/1000 | loss 1.2345 | accuracy 0.612 | lr 1.00e-04 | 12.3 steps/s | 50,380 tokens/s | ETA 1m05s

`loss` and `accuracy` are per target token; tokens/s counts every position of the batch
(batch_size x sequence_length, padding included); the rates leave out the first step
(compilation) and evaluation time; the ETA is the steps left at the last interval's rate.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Mapping, Optional, TextIO

import jax
import numpy as np
from clu import metric_writers

from mathft_jax import file_paths


class MetricsLogger:
    """Writes scalars to TensorBoard and prints one progress line per report.

    Example:
        logger = MetricsLogger(model_dir, total_steps=1000, tokens_per_step=8 * 512)
        logger.start(step=0)
        ...
        logger.train(step, {"loss": 1.2, "learning_rate": 1e-4})
        logger.eval(step, {"loss": 1.5})
        logger.close()
    """

    def __init__(self, model_dir: file_paths.PathLike, total_steps: int, tokens_per_step: int,
                 stream: TextIO = sys.stdout,
                 line_writer: Optional[Callable[[str], None]] = None, *,
                 summary_dir: Optional[file_paths.PathLike] = None, summaries: bool = True):
        """Args beyond the example: `stream` takes the progress lines, unless `line_writer`
        is given (e.g. `tqdm.write`, so that lines print above a progress bar);
        `summary_dir` holds the TensorBoard folders instead of `model_dir`; `summaries=False`
        writes none (nothing is created, not even the folders)."""
        write = jax.process_index() == 0 and summaries
        base = file_paths.as_path(model_dir if summary_dir is None else summary_dir)
        self._train = metric_writers.create_default_writer(
            str(base / "train"), just_logging=not write, asynchronous=True)
        self._eval = metric_writers.create_default_writer(
            str(base / "eval"), just_logging=not write, asynchronous=True)
        self._total = total_steps
        self._tokens_per_step = tokens_per_step
        self._stream = stream
        self._line_writer = line_writer
        self._last_step: Optional[int] = None
        self._last_time = 0.0

    def start(self, step: int) -> None:
        """Marks the time origin of the steps/s rate (call after the first compile)."""
        self._last_step, self._last_time = step, time.perf_counter()

    def train(self, step: int, metrics: Mapping[str, float]) -> dict[str, float]:
        """Logs metrics at `step`; adds steps_per_sec / tokens_per_sec since the last call."""
        scalars = {k: float(np.asarray(v)) for k, v in metrics.items()}
        now = time.perf_counter()
        if self._last_step is not None and step > self._last_step and now > self._last_time:
            rate = (step - self._last_step) / (now - self._last_time)
            scalars["steps_per_sec"] = rate
            scalars["tokens_per_sec"] = rate * self._tokens_per_step
        self._last_step, self._last_time = step, now
        self._train.write_scalars(step, scalars)
        self._print(step, scalars, prefix="")
        return scalars

    def eval(self, step: int, metrics: Mapping[str, float]) -> dict[str, float]:
        scalars = {k: float(np.asarray(v)) for k, v in metrics.items()}
        self._eval.write_scalars(step, scalars)
        self._print(step, scalars, prefix="eval ")
        return scalars

    def _print(self, step: int, s: Mapping[str, float], prefix: str) -> None:
        parts = [f"{prefix}step {step}/{self._total}"]
        if "loss" in s:
            parts.append(f"loss {s['loss']:.4f}")
        if "accuracy" in s:
            parts.append(f"accuracy {s['accuracy']:.3f}")
        if "learning_rate" in s:
            parts.append(f"lr {s['learning_rate']:.2e}")
        if "steps_per_sec" in s:
            parts.append(f"{s['steps_per_sec']:.2f} steps/s")
            parts.append(f"{s['tokens_per_sec']:,.0f} tokens/s")
            if step < self._total and s["steps_per_sec"] > 0:
                parts.append(f"ETA {eta_text((self._total - step) / s['steps_per_sec'])}")
        if jax.process_index() != 0:
            return
        if self._line_writer is not None:
            self._line_writer(" | ".join(parts))
        else:
            print(" | ".join(parts), file=self._stream, flush=True)

    def close(self) -> None:
        for writer in (self._train, self._eval):
            writer.flush()
            writer.close()


def eta_text(seconds: float) -> str:
    """A short duration: "1h02m", "4m05s", "9s".

    >>> eta_text(3725), eta_text(245), eta_text(9.4)
    ('1h02m', '4m05s', '9s')
    """
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
