"""A pair stays one row through the feature converter, shuffling and microbatching."""

import numpy as np
import seqio
import tensorflow as tf

from mathft_jax.evaluator.pairs import PairFeatureConverter
from mathft_jax.training.train_step import split_microbatches


def _pairs(n):
    # Pair i: chosen = [10 + i] * (2 + i % 3), rejected = [100 + i] * (1 + i % 2).
    return [{"chosen": [10 + i] * (2 + i % 3), "rejected": [100 + i] * (1 + i % 2)}
            for i in range(n)]


def _converted(pairs, lengths):
    ds = tf.data.Dataset.from_generator(
        lambda: iter(pairs), output_signature={k: tf.TensorSpec([None], tf.int32)
                                               for k in ("chosen", "rejected")})
    return list(PairFeatureConverter(pack=True)(ds, lengths).as_numpy_iterator())


def test_docstring_layout():
    row = _converted([{"chosen": [5, 6, 7], "rejected": [8, 9]}],
                     {"chosen": 4, "rejected": 3})[0]
    assert row["decoder_input_tokens"].tolist() == [5, 6, 7, 8, 9, 0, 0]
    assert row["decoder_positions"].tolist() == [0, 1, 2, 0, 1, 0, 0]
    assert row["decoder_segment_ids"].tolist() == [1, 1, 1, 2, 2, 0, 0]
    assert row["decoder_loss_weights"].tolist() == [0, 0, 1, 0, 1, 0, 0]


def _assert_whole_pairs(rows):
    """Every row holds exactly one chosen and its own rejected half, each read once."""
    for tokens, segments, read in rows:
        chosen = set(tokens[segments == 1].tolist())
        rejected = set(tokens[segments == 2].tolist())
        assert len(chosen) == 1 and len(rejected) == 1
        assert rejected.pop() - chosen.pop() == 90  # the halves of ONE pair
        assert read[segments == 1][-1] == 1 and read[segments == 2][-1] == 1
        assert read.sum() == 2


def test_pairs_survive_packing_shuffling_and_microbatching():
    rows = _converted(_pairs(16), {"chosen": 6, "rejected": 4})
    assert len(rows) == 16  # never packed together, never split: one row per pair
    batch = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    perm = np.random.default_rng(0).permutation(16)
    batch = {k: v[perm] for k, v in batch.items()}
    for m in (1, 2, 4, 8):
        micro = split_microbatches(batch, m)
        for i in range(m):
            _assert_whole_pairs(zip(np.asarray(micro["decoder_input_tokens"][i]),
                                    np.asarray(micro["decoder_segment_ids"][i]),
                                    np.asarray(micro["decoder_loss_weights"][i])))


def test_the_evaluator_objective_picks_the_pair_converter_for_pair_tasks():
    from mathft_jax.data.task_lookup import get_task
    from mathft_jax.evaluator.objective import task_objective
    objective = task_objective()
    name = "mathft_test_pair_features"
    if name not in seqio.TaskRegistry.names():
        vocab = seqio.ByteVocabulary()
        seqio.TaskRegistry.add(
            name, source=seqio.FunctionDataSource(
                lambda split, shuffle_files, seed=None: tf.data.Dataset.from_tensor_slices(
                    {"chosen": ["ab"], "rejected": ["c"]}), splits=("train",)),
            preprocessors=[seqio.preprocessors.tokenize],
            output_features={k: seqio.Feature(vocab, add_eos=False)
                             for k in ("chosen", "rejected")})
    assert isinstance(objective.feature_converter(get_task(name), pack=True), PairFeatureConverter)
    assert isinstance(objective.feature_converter(get_task(name), pack=False),
                      PairFeatureConverter)
