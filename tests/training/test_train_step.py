import jax
import numpy as np
import optax

from mathft_jax import partitioning
from mathft_jax.training import losses, optimizers, train_state, train_step
from tests.training.helpers import TINY, random_batch


def test_split_microbatches_interleaves_rows():
    batch = {"x": np.arange(8).reshape(4, 2)}
    out = train_step.split_microbatches(batch, 2)["x"]
    np.testing.assert_array_equal(out, [[[0, 1], [4, 5]], [[2, 3], [6, 7]]])


def _one_step(num_microbatches):
    mesh = partitioning.make_mesh()
    # SGD with lr 1 makes the update equal to minus the (clipped) gradient, so the test
    # compares gradients directly (Adam's g / |g| would amplify float noise on ~0 gradients).
    schedule = optimizers.make_schedule(10, peak_value=1.0, warmup_steps=0, decay="constant")
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(schedule))
    _, shardings = train_state.state_shardings(TINY, opt, mesh)
    state = train_state.init_train_state(TINY, opt, mesh, jax.random.key(0), shardings)
    batch = random_batch(8, 16, TINY.vocab_size)
    step = train_step.make_train_step(losses.make_sft_loss(TINY), opt, mesh, shardings,
                                      {k: 2 for k in batch}, num_microbatches, schedule)
    before = jax.device_get(state.params)
    state, metrics = step(state, partitioning.make_global_batch(batch, mesh),
                          jax.random.key(1))
    update = jax.tree_util.tree_map(lambda a, b: a - b, jax.device_get(state.params), before)
    return update, jax.device_get(metrics)


def test_four_microbatches_equal_one_big_batch():
    # Ragged rows: microbatches hold different numbers of target tokens, so a mean of
    # per-microbatch means would differ; the sum / total-denominator form does not.
    p1, m1 = _one_step(1)
    p4, m4 = _one_step(4)
    np.testing.assert_allclose(m4["loss"], m1["loss"], rtol=1e-6)
    np.testing.assert_allclose(m4["grad_norm"], m1["grad_norm"], rtol=1e-5)
    assert m1["denominator"] == m4["denominator"]
    scale = max(float(np.abs(x).max()) for x in jax.tree_util.tree_leaves(p1))
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * scale), p1, p4)
