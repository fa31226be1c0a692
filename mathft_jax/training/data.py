"""Per-host SeqIO input pipelines for training and evaluation.

Each process reads its own shard of the task (`seqio.ShardInfo(process_index, process_count)`)
and yields numpy batches of `batch_size // process_count` rows, in the layout of the run's
objective's feature converter (`training.objective`; by default `seqio.DecoderFeatureConverter`,
see training/losses.py); `partitioning.make_global_batch` then assembles the global, sharded
arrays. Tasks are found by name in `data.task_lookup`.

Determinism: the training stream is a function of (task, seed, feature lengths, batch size,
process layout) only, so `train_batches(..., start_batch=n)` (implemented as `ds.skip(n)`)
continues exactly where a run that consumed n batches stopped.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Optional

import jax
import numpy as np
import seqio
import tensorflow as tf

from mathft_jax.data.task_lookup import get_task
from mathft_jax.errors import ConfigError

# tf.data must never take accelerator memory from JAX.
tf.config.set_visible_devices([], "GPU")
try:
    tf.config.set_visible_devices([], "TPU")
except (ValueError, RuntimeError):
    pass


def _local_batch_size(batch_size: int) -> int:
    count = jax.process_count()
    if batch_size % count:
        raise ConfigError(f"batch size {batch_size} is not divisible by the "
                          f"{count} processes")
    return batch_size // count


def _dataset(name, lengths, split, shuffle, num_epochs, seed, converter):
    get_task(name)  # an unknown name is one ConfigError listing close names
    shard = seqio.ShardInfo(index=jax.process_index(), num_shards=jax.process_count())
    try:
        return seqio.get_dataset(name, lengths, converter, dataset_split=split, shuffle=shuffle,
                                 num_epochs=num_epochs, shard_info=shard, seed=seed,
                                 verbose=False)
    except ConfigError:
        raise
    except ValueError as e:
        if split not in get_task(name).splits:
            raise ConfigError(f"task {name!r} has no split {split!r}") from None
        if "no records" in str(e):  # e.g. an empty JSONL file behind the split
            raise ConfigError(f"task {name!r}, split {split!r}: {str(e).splitlines()[0]}"
                              ) from None
        raise


def train_batches(name: str, lengths: Mapping[str, int], batch_size: int, *, seed: int,
                  start_batch: int = 0, converter: Optional[seqio.FeatureConverter] = None,
                  split: str = "train") -> Iterator[dict[str, np.ndarray]]:
    """Endless shuffled batches of this host's rows, starting after `start_batch` batches.

    `converter` makes the task's examples into rows (the objective's `feature_converter`;
    default SeqIO's packing decoder converter)."""
    converter = converter or seqio.DecoderFeatureConverter(pack=True)
    ds = _dataset(name, lengths, split, shuffle=True, num_epochs=None, seed=seed,
                  converter=converter)
    ds = ds.batch(_local_batch_size(batch_size), drop_remainder=True)
    if start_batch:
        ds = ds.skip(start_batch)
    ds = ds.prefetch(2)
    return ds.as_numpy_iterator()


def eval_batches(name: str, lengths: Mapping[str, int], batch_size: int, *,
                 split: str = "validation", max_batches: Optional[int] = None,
                 converter: Optional[seqio.FeatureConverter] = None
                 ) -> Iterator[dict[str, np.ndarray]]:
    """One pass over `split` (unshuffled); the last batch is padded with zero-weight rows.

    With several processes every host must run the same number of eval steps, so
    `max_batches` is then required and hosts whose shard is shorter yield all-padding batches.
    """
    local = _local_batch_size(batch_size)
    if jax.process_count() > 1 and not max_batches:
        raise ConfigError("multi-host evaluation needs eval_steps (batches per evaluation) "
                          "so that every host runs the same number of steps")
    converter = converter or seqio.DecoderFeatureConverter(pack=True)
    ds = _dataset(name, lengths, split, shuffle=False, num_epochs=1, seed=None,
                  converter=converter)
    ds = ds.batch(local, drop_remainder=False)
    if max_batches:
        ds = ds.take(max_batches)
    count, template = 0, None
    for batch in ds.as_numpy_iterator():
        rows = next(iter(batch.values())).shape[0]
        if rows < local:
            batch = {k: np.concatenate([v, np.zeros((local - rows,) + v.shape[1:], v.dtype)])
                     for k, v in batch.items()}
        template = batch
        count += 1
        yield batch
    if jax.process_count() > 1 and template is not None:
        while count < max_batches:  # all-padding batches: zero loss weight
            count += 1
            yield {k: np.zeros_like(v) for k, v in template.items()}
