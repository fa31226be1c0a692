import jax
import pytest
from jax.sharding import PartitionSpec as P

from mathft_jax import partitioning
from mathft_jax.training import train_state
from tests import kit


def test_make_mesh_fills_and_validates():
    n = jax.device_count()
    mesh = partitioning.make_mesh()
    assert dict(mesh.shape) == {"data": n, "fsdp": 1, "tensor": 1}
    with pytest.raises(ValueError, match="at most one"):
        partitioning.make_mesh(-1, -1, 1)
    with pytest.raises(ValueError, match="available"):
        partitioning.make_mesh(n + 1, 1, 1)


class _FakeMesh:
    def __init__(self, **shape):
        self.shape = shape


def test_logical_to_spec_rules_divisibility_and_reuse():
    mesh = _FakeMesh(data=2, fsdp=2, tensor=2)
    assert partitioning.logical_to_spec(("embed", "mlp"), (512, 2048), mesh) == P("fsdp", "tensor")
    assert partitioning.logical_to_spec(("layers", "embed", "kv_heads", "kv"), (6, 640, 1, 256),
                                        mesh) == P(None, "fsdp", None, None)  # 1 head: replicate
    assert partitioning.logical_to_spec(("batch", "length"), (8, 16), mesh) == P(("data", "fsdp"),
                                                                                 None)
    # A mesh axis is used once per array: the second `tensor` dimension replicates.
    assert partitioning.logical_to_spec(("heads", "mlp"), (4, 8), mesh) == P("tensor", None)
    with pytest.raises(ValueError, match="no partitioning rule"):
        partitioning.logical_to_spec(("bogus",), (4,), mesh)


def test_every_param_of_the_presets_has_a_rule():
    mesh = partitioning.make_mesh()
    cfg = kit.tiny_config(vocab_size=512, num_kv_heads=1, qk_norm=True,
                          post_attention_norm=True, post_mlp_norm=True, tie_embeddings=False)
    shardings = partitioning.logical_to_sharding(train_state.abstract_params(cfg), mesh)
    assert len(jax.tree_util.tree_leaves(shardings)) > 10


class _FakeDevice:
    def __init__(self, slice_index):
        self.slice_index = slice_index


def test_slices_are_counted_and_dcn_must_divide_the_mesh():
    # (The hybrid mesh itself runs in tests/test_distributed.py, processes acting as slices.)
    devices = [_FakeDevice(i // 4) for i in range(8)]
    assert partitioning.num_slices(devices) == 2
    assert partitioning.num_slices(jax.devices()) == 1
    with pytest.raises(ValueError, match=r"dcn=\(1, 2, 1\) must give"):
        partitioning.make_mesh(data=8, fsdp=1, devices=devices, dcn=(1, 2, 1))
    with pytest.raises(ValueError, match=r"dcn=\(3, 1, 1\) must give"):
        partitioning.make_mesh(data=8, devices=devices, dcn=(3, 1, 1))
