"""The same 5 steps on 1 device and on 8 simulated devices (data, fsdp, data x fsdp x tensor)
give the same losses, and the parameters are really split."""


import numpy as np
from tests import kit


def test_meshes_match_single_device_and_shard_params():
    out = kit.run_on_simulated_devices("tests.training.sharded_equivalence", 8, timeout=600)[0]
    single = np.array(out["single"]["losses"])
    assert single[-1] < single[0]  # it trains
    for name in ("data8", "fsdp8", "d2f2t2"):
        assert out[name]["devices"] == 8
        np.testing.assert_allclose(out[name]["losses"], single, rtol=1e-5, err_msg=name)
    # TINY: vocab 256, embed 64, mlp 128, 4 heads, 2 kv heads, head_dim 16, 2 scanned layers.
    s = {name: {k: tuple(v) for k, v in out[name]["shard_shapes"].items()} for name in out}
    assert s["single"]["gate"] == (2, 64, 128)
    assert s["data8"]["gate"] == (2, 64, 128)              # data parallel: replicated
    assert s["fsdp8"]["gate"] == (2, 8, 128)               # embed / 8
    assert s["fsdp8"]["embedding"] == (256, 8)
    assert s["fsdp8"]["adam_mu_gate"] == (2, 8, 128)       # optimizer state follows params
    assert s["d2f2t2"]["gate"] == (2, 32, 64)              # embed / fsdp, mlp / tensor
    assert s["d2f2t2"]["q"] == (2, 32, 2, 16)                # embed / fsdp, heads / tensor
    assert s["d2f2t2"]["k"] == (2, 32, 1, 16)                # kv_heads / tensor
    assert s["d2f2t2"]["embedding"] == (128, 32)           # vocab / tensor, embed / fsdp
