"""Every option of `make_schedule` / `make_optimizer` reaches what is built: the defaults the
settings record, the schedules' edges by hand, and the optimizers' arguments against optax
built directly (two update steps, so moments and decay both show)."""

import numpy as np
import optax
import pytest

from mathft_jax.training import optimizers

# NumPy, not JAX, at import: nothing may start JAX while tests are only collected (the
# mutation runs fork after collecting).
PARAMS = {"w": np.array([[1.0, -2.0], [0.5, 3.0]], np.float32),
          "scale": np.array([1.0, 2.0], np.float32)}
GRADS = [{"w": np.array([[30.0, -40.0], [0.0, 10.0]], np.float32),
          "scale": np.array([3.0, -4.0], np.float32)},
         {"w": np.array([[-5.0, 2.0], [1.0, 0.0]], np.float32),
          "scale": np.array([0.5, 0.5], np.float32)}]
MASK = {"w": True, "scale": False}


def _updates(opt):
    state, out = opt.init(PARAMS), []
    for g in GRADS:
        u, state = opt.update(g, state, PARAMS)
        out.append(u)
    return out


def _assert_same(opt, reference):
    for got, want in zip(_updates(opt), _updates(reference)):
        for k in PARAMS:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-9)


def test_defaults_recorded_and_built():
    built = optimizers.build_optimizer(10)
    assert built.settings == {
        "schedule": {"peak_value": 1e-4, "warmup_steps": 0, "decay": "cosine",
                     "end_value_fraction": 0.0, "total_steps": 10},
        "optimizer": {"name": "adamw", "weight_decay": 0.0, "clip_norm": 1.0, "b1": 0.9,
                      "b2": 0.95, "eps": 1e-8, "adafactor_factored": True,
                      "adafactor_momentum": None}}
    assert float(built.schedule(0)) == pytest.approx(1e-4)
    assert float(built.schedule(5)) == pytest.approx(0.5e-4)
    assert float(built.schedule(10)) == 0.0
    schedule = optax.cosine_decay_schedule(1e-4, 10)
    _assert_same(built.optimizer, optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, b1=0.9, b2=0.95, eps=1e-8, weight_decay=0.0, mask=MASK)))


def test_constant_with_warmup_and_rsqrt_edges():
    const = optimizers.make_schedule(100, peak_value=2.0, warmup_steps=4, decay="constant")
    assert [float(const(s)) for s in (0, 2, 4, 50)] == pytest.approx([0.0, 1.0, 2.0, 2.0])
    rsqrt = optimizers.make_schedule(100, peak_value=3.0, warmup_steps=16, decay="rsqrt")
    assert [float(rsqrt(s)) for s in (0, 4, 16, 36)] == pytest.approx(
        [0.0, 0.75, 3.0, 3.0 * 4 / 6])
    no_warmup = optimizers.make_schedule(100, peak_value=3.0, warmup_steps=0, decay="rsqrt")
    assert [float(no_warmup(s)) for s in (0, 1, 4)] == pytest.approx([0.0, 3.0, 1.5])
    negative = optimizers.make_schedule(100, peak_value=3.0, warmup_steps=-5, decay="constant")
    assert float(negative(0)) == 3.0  # a negative warm-up is none


def test_cosine_shorter_than_its_warmup_still_ends():
    """total_steps <= warmup: the decay takes one step after the warm-up."""
    short = optimizers.make_schedule(5, peak_value=1.0, warmup_steps=10, decay="cosine",
                                     end_value_fraction=0.5)
    assert float(short(10)) == pytest.approx(1.0)
    assert float(short(11)) == pytest.approx(0.5)
    zero = optimizers.make_schedule(0, peak_value=1.0, warmup_steps=0, decay="cosine",
                                    end_value_fraction=0.25)
    assert float(zero(0)) == pytest.approx(1.0) and float(zero(1)) == pytest.approx(0.25)


@pytest.mark.parametrize("clip_norm", [None, 0.0, -1.0])
def test_no_clipping_when_clip_norm_is_off(clip_norm):
    # eps 1.0: Adam's first update then depends on the gradient's size, so clipping shows.
    lr = optax.constant_schedule(0.1)
    opt = optimizers.make_optimizer(lr, clip_norm=clip_norm, eps=1.0)
    _assert_same(opt, optax.adamw(lr, b1=0.9, b2=0.95, eps=1.0, weight_decay=0.0, mask=MASK))


def test_adamw_arguments_reach_optax():
    lr = optax.constant_schedule(0.1)
    opt = optimizers.make_optimizer(lr, weight_decay=0.3, clip_norm=2.0, b1=0.5, b2=0.6,
                                    eps=0.7)
    _assert_same(opt, optax.chain(optax.clip_by_global_norm(2.0), optax.adamw(
        lr, b1=0.5, b2=0.6, eps=0.7, weight_decay=0.3, mask=MASK)))


@pytest.mark.parametrize("factored, momentum, weight_decay", [
    (True, None, 0.0), (False, 0.5, 0.2)])
def test_adafactor_arguments_reach_optax(factored, momentum, weight_decay):
    lr = optax.constant_schedule(0.1)
    opt = optimizers.make_optimizer(lr, name="adafactor", weight_decay=weight_decay,
                                    clip_norm=3.0, adafactor_factored=factored,
                                    adafactor_momentum=momentum)
    _assert_same(opt, optax.chain(optax.clip_by_global_norm(3.0), optax.adafactor(
        lr, factored=factored, momentum=momentum, weight_decay_rate=weight_decay or None,
        weight_decay_mask=MASK, multiply_by_parameter_scale=False)))


def test_train_loop_args_name_the_three_parts():
    built = optimizers.build_optimizer(10)
    assert built.train_loop_args() == {"optimizer": built.optimizer,
                                       "schedule": built.schedule,
                                       "optimizer_settings": built.settings}


def test_signature_defaults_when_called_directly():
    """The signatures' own defaults (gin-configured entry points call these directly)."""
    schedule = optimizers.make_schedule(10)  # cosine from 1e-4 at step 0, no warm-up
    assert float(schedule(0)) == pytest.approx(1e-4) and float(schedule(10)) == 0.0
    lr = optax.constant_schedule(0.1)
    _assert_same(optimizers.make_optimizer(lr, eps=1.0), optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(lr, b1=0.9, b2=0.95, eps=1.0, weight_decay=0.0, mask=MASK)))
