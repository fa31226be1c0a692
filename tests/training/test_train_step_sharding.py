"""The train and eval steps on a simulated 4-device CPU mesh (data 2 x fsdp 2): where the
state, the batch and the metrics live, and the same values as on one device.

One subprocess (`train_step_sharding.py`, a linear toy loss: a few seconds of compiling) does
all the runs: JAX fixes the device count when it starts. The toy has a parameter `w` [2, 4]
split over fsdp on its second axis, and `v`, one entry per row of a microbatch, replicated:
its gradient (the microbatch's first column of c) is split over the batch axes, so only the
step's output shardings keep the updated `v` replicated.
"""


import numpy as np
import pytest

from mathft_jax import partitioning
from tests import kit

ROWS = [["data", "fsdp"]]  # a batch array's spec: rows split over (data, fsdp), rest whole


@pytest.fixture(scope="module")
def runs():
    return kit.run_on_simulated_devices("tests.training.train_step_sharding", 4)[0]


@pytest.mark.parametrize("micro", [1, 2])
def test_four_devices_give_the_one_device_values(runs, micro):
    one, four = runs[f"1x{micro}"], runs[f"4x{micro}"]
    for key in ("w", "v", "loss", "eval_loss_sum"):
        np.testing.assert_allclose(four[key], one[key], rtol=1e-6, err_msg=key)
    # By hand (SGD, learning rate 1, momentum's trace starting at 0; denominator 10): w's
    # rows lose c's column sums (16, 20) / 10, v's entries their rows' first column of c / 10.
    np.testing.assert_allclose(four["w"], [[-0.6, 0.4, 1.4, 2.4], [-2.0, -1.0, -2.0, -1.0]],
                               rtol=1e-6)
    if micro == 1:
        want_v = [0.9, 1.0, 0.8, 0.9, 0.7, 1.0, 0.6, 0.5]
    else:  # microbatch 0 holds rows 0, 2, 4, 6 (first column 1, 2, 3, 4); 1 rows 1, 3, 5, 7
        want_v = [1 - 0.1, 1 - 0.3, 1 - 0.3, 1 - 0.9]
    np.testing.assert_allclose(four["v"], want_v, rtol=1e-6)
    # loss_sum = sum(c @ w) + sum(c[:, 0]) = 16 * 10 + 20 * 2 + 16 = 216, over 10.
    assert four["loss"] == pytest.approx(21.6, rel=1e-6)


@pytest.mark.parametrize("micro", [1, 2])
def test_state_and_batch_shardings_on_four_devices(runs, micro):
    specs = runs[f"4x{micro}"]["specs"]
    # The new state keeps the given shardings: w (and momentum's trace of it) split over
    # fsdp; v, its trace and the step counter replicated; the metrics replicated.
    assert specs["w"] == specs["trace_w"] == [None, "fsdp"]
    assert specs["v"] == specs["trace_v"] == specs["step"] == []
    assert specs["loss"] == specs["eval_loss_sum"] == []
    # The compiled step takes the state as given and a host batch split by rows.
    assert specs["in_w"] == [None, "fsdp"]
    assert specs["in_c"] == specs["in_n"] == ROWS


@pytest.mark.parametrize("micro", [1, 2])
def test_the_loss_sees_row_split_microbatches(runs, micro):
    run = runs[f"4x{micro}"]
    assert run["microbatch_c"] and all(s == ROWS for s in run["microbatch_c"])
    assert run["eval_c"] and all(s == ROWS for s in run["eval_c"])


@pytest.mark.parametrize("micro", [1, 2])
def test_the_loss_is_traced_with_the_mesh_and_the_given_rules(runs, micro):
    run = runs[f"4x{micro}"]
    # [mesh axis names, number of rules, the rule for the toy axis only the given rules have]
    want = [["data", "fsdp", "tensor"], len(partitioning.DEFAULT_RULES) + 1, "fsdp"]
    assert run["context"] and all(c == want for c in run["context"])
    assert run["eval_context"] and all(c == want for c in run["eval_context"])
