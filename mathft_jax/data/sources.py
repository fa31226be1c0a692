"""A seqio data source over in-memory string records, loaded lazily on first use.

MATH (12,500 problems) and the synthetic benchmark (20,000) fit in memory many times over, so
the simplest fast source is a Python list of `{feature: str}` dicts turned into a
`tf.data.Dataset` of string scalars. Unlike `seqio.FunctionDataSource` this one shards (each
host takes every `num_shards`-th record) and shuffles the whole split with the given seed.

Example:
    >>> src = RecordsDataSource(lambda split: [{"inputs": "1+1=", "targets": "2"}], ["train"])
    >>> next(iter(src.get_dataset("train", shuffle=False)))["targets"].numpy()
    b'2'
"""

from __future__ import annotations

import threading
from typing import Callable, Hashable, Iterable, Mapping, Optional, Sequence

import seqio
import tensorflow as tf

RecordsFn = Callable[[str], Sequence[Mapping[str, str]]]


class RecordsDataSource(seqio.DataSource):
    """Serves `records_fn(split)` (called once per split, on first use) as a tf.data.Dataset.

    Every record of a split must have the same keys, all with string values. With `key`,
    the records are read once per split and value of `key()` (e.g. the options `records_fn`
    reads: `task_options.current`), so that other options are never served stale records.
    """

    def __init__(self, records_fn: RecordsFn, splits: Iterable[str],
                 key: Optional[Callable[[], Hashable]] = None):
        super().__init__(splits=splits, caching_permitted=False)
        self._records_fn = records_fn
        self._key = key
        self._cache: dict[tuple[str, Hashable], list[Mapping[str, str]]] = {}
        self._lock = threading.Lock()

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return True

    def list_shards(self, split: str) -> Sequence[str]:
        return [split]

    def records(self, split: str) -> list[Mapping[str, str]]:
        """The records of `split`, loaded on first call.

        Raises:
          ValueError: for an unknown split or records with differing keys / non-string values.
        """
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; this source has {list(self.splits)}")
        cache_key = (split, self._key() if self._key is not None else None)
        with self._lock:
            if cache_key not in self._cache:
                rows = list(self._records_fn(split))
                if not rows:
                    raise ValueError(f"split {split!r} of this source has no records")
                keys = set(rows[0]) if rows else set()
                for i, row in enumerate(rows):
                    if set(row) != keys or not all(isinstance(v, str) for v in row.values()):
                        raise ValueError(f"record {i} of split {split!r} has keys "
                                         f"{sorted(row)} / non-string values; expected the "
                                         f"string fields {sorted(keys)}")
                self._cache[cache_key] = rows
            return self._cache[cache_key]

    def num_input_examples(self, split: str) -> Optional[int]:
        return len(self.records(split))

    def get_dataset(self, split: str = "train", shuffle: bool = True,
                    seed: Optional[int] = None, shard_info: Optional[seqio.ShardInfo] = None,
                    *, sequence_length: Optional[Mapping[str, int]] = None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del sequence_length, use_cached, num_epochs  # unused, as in seqio's own sources
        rows = self.records(split)
        if shard_info is not None:
            rows = rows[shard_info.index::shard_info.num_shards]
        keys = sorted(self.records(split)[0])
        columns = {k: tf.constant([r[k] for r in rows], dtype=tf.string) for k in keys}
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if shuffle and rows:
            ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
        return ds
