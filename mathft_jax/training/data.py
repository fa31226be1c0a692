"""Per-host SeqIO input pipelines for training and evaluation.

Each process reads its own shard of the task (`seqio.ShardInfo(process_index, process_count)`)
and yields numpy batches of `batch_size // process_count` rows, in the layout of
`seqio.DecoderFeatureConverter` (see training/losses.py); `partitioning.make_global_batch`
then assembles the global, sharded arrays.

Determinism: the training stream is a function of (task, seed, feature lengths, batch size,
process layout) only, so `train_batches(..., start_batch=n)` (implemented as `ds.skip(n)`)
continues exactly where a run that consumed n batches stopped.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from typing import Iterator, Mapping, Optional

import jax
import numpy as np
import seqio
import tensorflow as tf

from mathft_jax.errors import ConfigError

# tf.data must never take accelerator memory from JAX.
tf.config.set_visible_devices([], "GPU")
try:
    tf.config.set_visible_devices([], "TPU")
except (ValueError, RuntimeError):
    pass

_TASKS_IMPORTED = False


def import_task_registrations() -> None:
    """Imports the repository's `tasks` package (SeqIO registrations) when it exists."""
    global _TASKS_IMPORTED
    if _TASKS_IMPORTED:
        return
    _TASKS_IMPORTED = True
    if importlib.util.find_spec("tasks") is not None:
        importlib.import_module("tasks")


def get_task(name: str):
    """The registered SeqIO task or mixture `name`, or a ConfigError listing close names."""
    import_task_registrations()
    try:
        return seqio.get_mixture_or_task(name)
    except ValueError:
        known = sorted(set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names()))
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
        hint = (f"; did you mean {', '.join(close)}?" if close else
                f"; registered: {', '.join(known[:20])}{' ...' if len(known) > 20 else ''}"
                if known else "; no tasks are registered (is the `tasks` package importable?)")
        raise ConfigError(f"unknown SeqIO task or mixture {name!r}{hint}") from None


def task_vocab_size(name: str) -> int:
    """Largest vocabulary size over the task's features (the model must cover it)."""
    task = get_task(name)
    return max(f.vocabulary.vocab_size for f in task.output_features.values())


def feature_lengths(name: str, sequence_length: int,
                    inputs_length: Optional[int] = None) -> dict[str, int]:
    """Task feature lengths: {"inputs": ..., "targets": ...} for prefix-LM tasks (inputs get
    `inputs_length`, default half), {"targets": L} for targets-only tasks, and the evaluator
    tasks' own split (`evaluator.tasks.feature_lengths`)."""
    task = get_task(name)
    from mathft_jax.evaluator import tasks as evaluator_tasks
    evaluator = evaluator_tasks.feature_lengths(name, sequence_length, inputs_length)
    if evaluator is not None:
        return evaluator
    if "inputs" in task.output_features:
        inputs_length = inputs_length or sequence_length // 2
        return {"inputs": inputs_length, "targets": sequence_length - inputs_length}
    return {"targets": sequence_length}


def _local_batch_size(batch_size: int) -> int:
    count = jax.process_count()
    if batch_size % count:
        raise ConfigError(f"batch size {batch_size} is not divisible by the "
                          f"{count} processes")
    return batch_size // count


def feature_converter(name: str, pack: bool) -> seqio.FeatureConverter:
    """The prefix-LM converter, or for pair tasks (features `chosen` / `rejected`) the one
    that keeps each pair in one row (`evaluator.pairs`)."""
    from mathft_jax.evaluator.pairs import PAIR_FEATURES, PairFeatureConverter
    from mathft_jax.evaluator.steps import STEP_FEATURES, StepFeatureConverter
    from mathft_jax.evaluator.verifier import TOKEN_FEATURES, TokenFeatureConverter
    features = set(get_task(name).output_features)
    if set(PAIR_FEATURES) <= features:
        return PairFeatureConverter()
    if set(STEP_FEATURES) <= features:
        return StepFeatureConverter()
    if set(TOKEN_FEATURES) <= features:
        return TokenFeatureConverter()
    return seqio.DecoderFeatureConverter(pack=pack)


def _dataset(name, lengths, split, shuffle, num_epochs, seed, pack):
    converter = feature_converter(name, pack)
    shard = seqio.ShardInfo(index=jax.process_index(), num_shards=jax.process_count())
    try:
        return seqio.get_dataset(name, lengths, converter, dataset_split=split, shuffle=shuffle,
                                 num_epochs=num_epochs, shard_info=shard, seed=seed,
                                 verbose=False)
    except ConfigError:
        raise
    except ValueError as e:
        if split not in seqio.get_mixture_or_task(name).splits:
            raise ConfigError(f"task {name!r} has no split {split!r}") from None
        if "no records" in str(e):  # e.g. an empty JSONL file behind the split
            raise ConfigError(f"task {name!r}, split {split!r}: {str(e).splitlines()[0]}"
                              ) from None
        raise


def train_batches(name: str, lengths: Mapping[str, int], batch_size: int, *, seed: int,
                  start_batch: int = 0, pack: bool = True,
                  split: str = "train") -> Iterator[dict[str, np.ndarray]]:
    """Endless shuffled batches of this host's rows, starting after `start_batch` batches."""
    ds = _dataset(name, lengths, split, shuffle=True, num_epochs=None, seed=seed, pack=pack)
    ds = ds.batch(_local_batch_size(batch_size), drop_remainder=True)
    if start_batch:
        ds = ds.skip(start_batch)
    ds = ds.prefetch(2)
    return ds.as_numpy_iterator()


def eval_batches(name: str, lengths: Mapping[str, int], batch_size: int, *,
                 split: str = "validation", max_batches: Optional[int] = None,
                 pack: bool = True) -> Iterator[dict[str, np.ndarray]]:
    """One pass over `split` (unshuffled); the last batch is padded with zero-weight rows.

    With several processes every host must run the same number of eval steps, so
    `max_batches` is then required and hosts whose shard is shorter yield all-padding batches.
    """
    local = _local_batch_size(batch_size)
    if jax.process_count() > 1 and not max_batches:
        raise ConfigError("multi-host evaluation needs eval_steps (batches per evaluation) "
                          "so that every host runs the same number of steps")
    ds = _dataset(name, lengths, split, shuffle=False, num_epochs=1, seed=None, pack=pack)
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
