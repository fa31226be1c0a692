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


def test_build_optimizer_reads_no_gin_and_the_train_edge_does():
    """Library code builds what it is told: a gin binding that would change the optimizer
    changes it only where an entry point reads gin at its edge (issue 26)."""
    import gin

    from mathft_jax.train import optimizer_from_gin
    params = {"w": jnp.ones((3, 3))}
    grads = {"w": jnp.full((3, 3), 10.0)}

    def first_update(built):
        updates, _ = built.optimizer.update(grads, built.optimizer.init(params), params)
        return np.asarray(updates["w"]), float(built.schedule(5))

    plain = optimizers.build_optimizer(10, schedule={"warmup_steps": 0})
    gin.clear_config()
    try:
        with gin.unlock_config():
            gin.bind_parameter("mathft_jax.training.optimizers.make_schedule.peak_value", 0.5)
            gin.bind_parameter("mathft_jax.training.optimizers.make_optimizer.clip_norm", 0.1)
            gin.bind_parameter("mathft_jax.training.optimizers.make_optimizer.name", "adafactor")
        bound = optimizers.build_optimizer(10, schedule={"warmup_steps": 0})
        edge = optimizers.build_optimizer(10, **optimizer_from_gin())
    finally:
        gin.clear_config()
    assert bound.settings == plain.settings
    np.testing.assert_array_equal(first_update(bound)[0], first_update(plain)[0])
    assert first_update(bound)[1] == first_update(plain)[1]
    assert edge.settings["schedule"]["peak_value"] == 0.5
    assert edge.settings["optimizer"]["clip_norm"] == 0.1
    assert edge.settings["optimizer"]["name"] == "adafactor"
    assert first_update(edge)[1] != first_update(plain)[1]
