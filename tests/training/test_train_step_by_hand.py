"""The train and eval steps by hand, on a linear toy loss instead of a model (fast to compile).

loss_sum = sum over rows of c_r . w, so d(loss_sum)/dw is the column sum of c; the
denominator is the sum of the rows' n; `u_sum` is one uniform draw from the rng each call
gets, so the rng folding shows in the metrics.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathft_jax import partitioning
from mathft_jax.training import train_step
from mathft_jax.training.train_state import TrainState

C = [[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [1.0, 3.0]]  # column sums 4, 6; c @ [1, 2] sums to 16
W = [1.0, 2.0]


def _loss_fn(params, batch, rng):
    loss_sum = jnp.sum(batch["c"] @ params["w"])
    return loss_sum, {"denominator": jnp.sum(batch["n"]), "loss_sum": loss_sum,
                      "rows": jnp.float32(batch["n"].shape[0]),
                      "u_sum": jax.random.uniform(rng)}


def _batch(n, mesh):
    return partitioning.make_global_batch(
        {"c": np.asarray(C, np.float32), "n": np.asarray(n, np.float32)}, mesh)


def _step(num_microbatches, n, schedule=None, rows=4):
    mesh = partitioning.make_mesh()
    # Weight decay reads the parameters: the step must hand them to the optimizer.
    opt = optax.chain(optax.add_decayed_weights(0.1), optax.sgd(1.0, momentum=0.5))
    params = {"w": jnp.asarray(W)}
    state = TrainState(step=jnp.asarray(3, jnp.int32), params=params,
                       opt_state=opt.init(params))
    micro = {} if num_microbatches is None else {"num_microbatches": num_microbatches}
    step = train_step.make_train_step(_loss_fn, opt, mesh, partitioning.replicated(mesh),
                                      {"c": 2, "n": 1}, schedule=schedule, **micro)
    assert hasattr(step.jitted, "lower")  # exposed for the benchmarks' cost analysis
    batch = partitioning.make_global_batch(
        {"c": np.asarray(C[:rows], np.float32), "n": np.asarray(n, np.float32)}, mesh)
    new_state, metrics = step(state, batch, jax.random.key(1))
    assert params["w"].is_deleted() and not batch["c"].is_deleted()  # the state is donated
    return jax.device_get((new_state, metrics))


@pytest.mark.parametrize("num_microbatches", [1, 2])
def test_one_sgd_step_by_hand(num_microbatches):
    state, metrics = _step(num_microbatches, [1, 2, 3, 4], lambda step: step)
    # gradient [4, 6] / denominator 10, + 0.1 * w = [0.5, 0.8]; SGD with lr 1 (momentum's
    # trace starts at 0).
    np.testing.assert_allclose(state.params["w"], [0.5, 1.2], rtol=1e-6)
    np.testing.assert_allclose(state.opt_state[1][0].trace["w"], [0.5, 0.8], rtol=1e-6)
    assert int(state.step) == 4
    assert set(metrics) == {"denominator", "loss", "rows", "u", "grad_norm", "learning_rate"}
    assert float(metrics["denominator"]) == 10.0
    assert float(metrics["loss"]) == pytest.approx(1.6, rel=1e-6)
    assert float(metrics["rows"]) == 4.0  # summed over microbatches, not divided
    assert float(metrics["grad_norm"]) == pytest.approx(np.sqrt(0.52), rel=1e-6)
    assert metrics["learning_rate"].dtype == np.float32
    assert float(metrics["learning_rate"]) == 3.0  # the (integer) schedule at step 3
    # The step's rng is fold_in(rng, step); microbatch i draws from fold_in(that, i).
    step_rng = jax.random.fold_in(jax.random.key(1), 3)
    if num_microbatches == 1:
        want = float(jax.random.uniform(step_rng))
    else:
        want = sum(float(jax.random.uniform(jax.random.fold_in(step_rng, i))) for i in range(2))
    assert float(metrics["u"]) * 10 == pytest.approx(want, rel=1e-6)


def test_zero_denominator_divides_by_one_and_no_schedule_reports_no_rate():
    state, metrics = _step(1, [0, 0, 0, 0])
    np.testing.assert_allclose(state.params["w"], [1.0 - 4.1, 2.0 - 6.2], rtol=1e-6)
    assert float(metrics["loss"]) == 16.0
    assert "learning_rate" not in metrics


def test_one_microbatch_by_default():
    # Three rows, which two microbatches could not split: gradient [3, 3] / 6 + 0.1 * w.
    state, metrics = _step(None, [1, 2, 3], rows=3)
    np.testing.assert_allclose(state.params["w"], [0.4, 1.3], rtol=1e-6)
    assert float(metrics["loss"]) == pytest.approx(1.5, rel=1e-6)


def test_accumulated_gradients_come_back_in_the_params_dtype():
    # Summed in float32 over the microbatches, then cast to the parameter's bfloat16.
    params = {"w": jnp.asarray(W, jnp.bfloat16)}
    batch = {"c": jnp.asarray(C), "n": jnp.asarray([1.0, 2.0, 3.0, 4.0])}
    grads, metrics = train_step.accumulate_gradients(_loss_fn, params, batch,
                                                     jax.random.key(0), 2)
    assert grads["w"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(grads["w"], np.float32), [4.0, 6.0])
    assert float(metrics["loss_sum"]) == 16.0 and float(metrics["rows"]) == 4.0


def test_summarize_metrics_divides_only_the_sums():
    got = train_step.summarize_metrics({"denominator": 4.0, "loss_sum": 6.0, "rows": 3.0,
                                        "margin_sum": 2.0})
    assert {k: float(v) for k, v in got.items()} == {"denominator": 4.0, "loss": 1.5,
                                                     "rows": 3.0, "margin": 0.5}
    got = train_step.summarize_metrics({"denominator": 0.0, "loss_sum": 6.0})
    assert {k: float(v) for k, v in got.items()} == {"denominator": 0.0, "loss": 6.0}


def test_split_microbatches_refuses_a_batch_it_cannot_divide():
    with pytest.raises(ValueError, match="batch size 3 is not divisible by num_microbatches=2"):
        train_step.split_microbatches({"x": np.zeros((3, 2))}, 2)


def test_eval_step_returns_the_summed_metrics_with_rng_key_0():
    mesh = partitioning.make_mesh()
    step = train_step.make_eval_step(_loss_fn, mesh, partitioning.replicated(mesh),
                                     {"c": 2, "n": 1})
    metrics = jax.device_get(step({"w": jnp.asarray(W)}, _batch([1, 2, 3, 4], mesh)))
    assert float(metrics["loss_sum"]) == 16.0
    assert float(metrics["denominator"]) == 10.0
    assert float(metrics["u_sum"]) == float(jax.random.uniform(jax.random.key(0)))
