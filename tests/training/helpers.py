"""Small shared builders for the training unit tests (no SeqIO)."""

from __future__ import annotations

import numpy as np

from tests import kit

TINY = kit.tiny_config(max_seq_len=32)


def random_batch(batch: int, length: int, vocab: int, seed: int = 0,
                 targets_from: int = 4) -> dict[str, np.ndarray]:
    """An unpacked prefix-LM batch: the first `targets_from` positions are inputs."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(3, vocab, size=(batch, length)).astype(np.int32)
    inputs = np.concatenate([np.zeros((batch, 1), np.int32), tokens[:, :-1]], axis=1)
    weights = np.zeros((batch, length), np.int32)
    weights[:, targets_from:] = 1
    # Ragged: row i ends i positions early (padding: token 0, weight 0).
    for i in range(batch):
        if i:
            tokens[i, -i:] = 0
            weights[i, -i:] = 0
    return {"decoder_target_tokens": tokens, "decoder_input_tokens": inputs,
            "decoder_loss_weights": weights}
