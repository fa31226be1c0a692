"""Small shared builders for the training unit tests (no SeqIO)."""

from __future__ import annotations

import numpy as np

from mathft_jax.models import ModelConfig

TINY = ModelConfig(vocab_size=256, num_layers=2, embed_dim=64, mlp_dim=128, num_heads=4,
                   num_kv_heads=2, head_dim=16, max_seq_len=32)


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
