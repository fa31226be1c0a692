import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathft_jax.training import optimizers


def test_warmup_then_cosine_and_rsqrt():
    cos = optimizers.make_schedule(100, peak_value=1.0, warmup_steps=10, decay="cosine",
                                   end_value_fraction=0.1)
    assert float(cos(0)) == 0.0
    assert float(cos(5)) == pytest.approx(0.5)
    assert float(cos(10)) == pytest.approx(1.0)
    assert float(cos(100)) == pytest.approx(0.1)
    rsqrt = optimizers.make_schedule(100, peak_value=1.0, warmup_steps=16, decay="rsqrt")
    assert float(rsqrt(8)) == pytest.approx(0.5)
    assert float(rsqrt(64)) == pytest.approx(0.5)
    const = optimizers.make_schedule(100, peak_value=2.0, warmup_steps=0, decay="constant")
    assert float(const(50)) == 2.0
    with pytest.raises(ValueError, match="unknown decay"):
        optimizers.make_schedule(10, decay="linear")


def test_decay_mask_skips_norms_and_embeddings():
    params = {"embedding": 1, "layers": {"block": {"mlp": {"gate": 1},
                                                   "pre_mlp_norm": {"scale": 1}}}}
    mask = optimizers.decay_mask(params)
    assert mask == {"embedding": False, "layers": {"block": {"mlp": {"gate": True},
                                                             "pre_mlp_norm": {"scale": False}}}}


@pytest.mark.parametrize("name", ["adamw", "adafactor"])
def test_optimizers_step_and_clip(name):
    params = {"w": jnp.ones((4, 3)), "scale": jnp.ones((3,))}
    opt = optimizers.make_optimizer(optax.constant_schedule(0.1), name=name, weight_decay=0.1,
                                    clip_norm=1.0)
    state = opt.init(params)
    grads = {"w": jnp.full((4, 3), 100.0), "scale": jnp.zeros((3,))}
    updates, _ = opt.update(grads, state, params)
    assert np.all(np.asarray(updates["w"]) < 0)
    assert np.isfinite(np.asarray(updates["w"])).all()
    if name == "adamw":
        # clipped gradients and Adam: first update is -lr * (sign + decay * w)
        np.testing.assert_allclose(updates["w"], -0.1 * (1 + 0.1), rtol=1e-4)
        np.testing.assert_allclose(updates["scale"], 0.0, atol=1e-6)  # no decay on norms
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.make_optimizer(optax.constant_schedule(0.1), name="sgd")
