"""Hand-computed values of the SFT loss's z-loss term and of the warm-up + cosine schedule.

Guards the z-loss's sign and form (+ z * logsumexp(logits)^2 on weighted tokens only) and the
cosine schedule's values with a peak other than 1: peak after warm-up, (peak + end) / 2 half
way through the decay, end = end_value_fraction * peak at total_steps (the whole run, warm-up
included) and after.
"""

import math

import jax.numpy as jnp
import pytest

from mathft_jax.training import losses, optimizers
from tests.training.helpers import TINY


def test_z_loss_adds_z_times_squared_logsumexp_on_weighted_tokens(monkeypatch):
    # Three tokens over a 2-word vocabulary; the third has weight 0.
    logits = jnp.array([[[1.0, 1.0], [-3.0, -3.0], [9.0, 0.0]]])
    monkeypatch.setattr(losses, "model_logits", lambda model, params, batch: logits)
    batch = {"decoder_input_tokens": jnp.zeros((1, 3), jnp.int32),
             "decoder_target_tokens": jnp.array([[0, 1, 1]]),
             "decoder_loss_weights": jnp.array([[1, 1, 0]])}
    lse = [1 + math.log(2), -3 + math.log(2)]  # the first positive, the second negative
    nll = 2 * math.log(2)  # two tokens at probability 1/2
    plain, _ = losses.make_sft_loss(TINY)(None, batch, None)
    assert float(plain) == pytest.approx(nll, rel=1e-6)
    loss_sum, metrics = losses.make_sft_loss(TINY, z_loss=0.5)(None, batch, None)
    expected = nll + 0.5 * (lse[0] ** 2 + lse[1] ** 2)  # 1.386 + 0.5 * (2.866 + 5.322)
    assert float(loss_sum) == pytest.approx(expected, rel=1e-6)
    assert float(metrics["loss_sum"]) == pytest.approx(expected, rel=1e-6)
    assert float(metrics["denominator"]) == 2.0


@pytest.mark.parametrize("build", ["make_schedule", "build_optimizer"])
def test_warmup_cosine_values_with_peak_other_than_one(build):
    peak, end = 3e-4, 3e-5  # end_value_fraction 0.1
    kw = dict(peak_value=peak, warmup_steps=10, decay="cosine", end_value_fraction=0.1)
    schedule = (optimizers.make_schedule(110, **kw) if build == "make_schedule"
                else optimizers.build_optimizer(110, schedule=kw).schedule)
    assert float(schedule(5)) == pytest.approx(peak / 2)
    assert float(schedule(10)) == pytest.approx(peak)
    # The decay runs over steps 10..110: its midpoint is step 60, a quarter is step 35.
    assert float(schedule(35)) == pytest.approx(
        end + (peak - end) * (1 + math.cos(math.pi / 4)) / 2)
    assert float(schedule(60)) == pytest.approx((peak + end) / 2)
    assert float(schedule(109)) > end * 1.001  # not at the end before total_steps
    assert float(schedule(110)) == pytest.approx(end)
    assert float(schedule(500)) == pytest.approx(end)


def test_cosine_without_warmup():
    schedule = optimizers.make_schedule(100, peak_value=2.0, warmup_steps=0, decay="cosine",
                                        end_value_fraction=0.25)
    assert float(schedule(0)) == pytest.approx(2.0)
    assert float(schedule(50)) == pytest.approx((2.0 + 0.5) / 2)
    assert float(schedule(100)) == pytest.approx(0.5)
    assert float(schedule(200)) == pytest.approx(0.5)
