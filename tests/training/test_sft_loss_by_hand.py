"""The SFT loss's metrics and `model_logits`' call of the decoder, by hand (no model: fast).

Complements test_losses.py (against a tiny decoder) and test_z_loss_and_cosine.py (the z-loss).
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.training import losses
from tests.training.helpers import TINY


class _Recorder:
    """Stands in for the decoder: records `apply`'s arguments."""

    def __init__(self):
        self.calls = []

    def apply(self, variables, *args):
        self.calls.append((variables, args))
        return "logits"


def test_model_logits_passes_the_tokens_positions_and_segment_ids():
    model = _Recorder()
    packed = {"decoder_input_tokens": "tokens", "decoder_positions": "positions",
              "decoder_segment_ids": "segments", "decoder_target_tokens": "targets"}
    assert losses.model_logits(model, "params", packed) == "logits"
    losses.model_logits(model, "params", {"decoder_input_tokens": "tokens"})  # unpacked
    assert model.calls == [({"params": "params"}, ("tokens", "positions", "segments")),
                           ({"params": "params"}, ("tokens", None, None))]


def test_sft_loss_accuracy_and_denominator_by_hand(monkeypatch):
    # Four tokens over a 3-word vocabulary; the argmax is right at tokens 0, 2 and 3, but
    # token 3 has weight 0, so 2 of the 3 weighted tokens are right.
    logits = jnp.array([[[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]]])
    monkeypatch.setattr(losses, "model_logits", lambda model, params, batch: logits)
    batch = {"decoder_input_tokens": jnp.zeros((1, 4), jnp.int32),
             "decoder_target_tokens": jnp.array([[0, 2, 2, 0]]),
             "decoder_loss_weights": jnp.array([[1, 1, 1, 0]])}
    loss_sum, metrics = losses.make_sft_loss(TINY, task="unused")(None, batch, None)
    nll = (math.log(1 + 2 * math.exp(-2)) + 3 + math.log(1 + 2 * math.exp(-3))
           + math.log(1 + 2 * math.exp(-1)))
    assert float(loss_sum) == pytest.approx(nll, rel=1e-6)
    assert set(metrics) == {"denominator", "loss_sum", "accuracy_sum"}
    assert float(metrics["loss_sum"]) == pytest.approx(nll, rel=1e-6)
    assert float(metrics["accuracy_sum"]) == 2.0
    assert float(metrics["denominator"]) == 3.0
    # The contract: float32 scalars (integer weights are converted).
    assert {np.dtype(v.dtype) for v in metrics.values()} == {np.dtype(np.float32)}
