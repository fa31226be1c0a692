"""Device mesh and T5X-style logical axis rules.

Parameters and activations carry *logical* axis names (`embed`, `mlp`, `heads`, ... see
`mathft_jax.models.layers`); a rules table maps each logical name to zero or more *mesh* axes
of a 3-D mesh (`data`, `fsdp`, `tensor`):

    data    pure data parallelism: the batch is split, parameters are replicated.
    fsdp    the batch is split AND parameters / optimizer state are split along `embed`
            (ZeRO-3 style: XLA all-gathers a layer's weights when it runs).
    tensor  Megatron-style model parallelism over heads, MLP hidden units and the vocabulary.

Example: on 8 devices with `make_mesh(data=2, fsdp=2, tensor=2)` the MLP kernel `gate`
(logical axes `("layers", "embed", "mlp")`, shape [L, 512, 2048]) gets the spec
`P(None, "fsdp", "tensor")`, so each device holds an [L, 256, 1024] shard, and a batch
`[B, T]` gets `P(("data", "fsdp"), None)`: each device sees B/4 rows.

A dimension that a rule's mesh axes do not divide (e.g. one key/value head over tensor=2)
is replicated instead of failing, so one rules table serves every model preset.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator, Optional, Sequence

import flax.linen as nn
import jax
import numpy as np
from jax.experimental import mesh_utils
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

MESH_AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")

# logical axis name -> mesh axes (None = replicated). Order of entries does not matter.
DEFAULT_RULES: tuple[tuple[str, Any], ...] = (
    # parameters
    ("vocab", "tensor"),
    ("embed", "fsdp"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("kv_heads", "tensor"),
    ("kv", None),
    ("norm", None),
    ("layers", None),
    # activations
    ("batch", BATCH_AXES),
    ("length", None),
    ("act_embed", None),
    ("act_mlp", "tensor"),
    ("act_vocab", "tensor"),
)


def make_mesh(data: int = -1, fsdp: int = 1, tensor: int = 1,
              devices: Optional[Sequence[jax.Device]] = None,
              dcn: Optional[Sequence[int]] = None) -> Mesh:
    """A (data, fsdp, tensor) mesh over all (or the given) devices.

    Exactly one size may be -1: it is filled so that the product equals the device count.

    Multi-slice runs (several TPU slices joined by the data-centre network, DCN): `dcn` gives
    how many slices each axis spans, (data, fsdp, tensor); the sizes above stay the totals,
    and each must be a multiple of its DCN count. Inside a slice the axes run over the fast
    inter-chip interconnect (ICI). The default puts the slices on `data` (only gradients
    cross DCN, once per step) when the devices report more than one `slice_index`.
    When all devices are in one slice (CPU, GPU) processes count as slices.

    Example:
        make_mesh(data=-1, fsdp=2, tensor=1)   # on 8 devices: data=4, fsdp=2, tensor=1
        make_mesh(data=4, fsdp=64, dcn=(4, 1, 1))   # 4 slices of 64 chips, FSDP inside each
    """
    devices = list(jax.devices() if devices is None else devices)
    sizes = [data, fsdp, tensor]
    if sizes.count(-1) > 1:
        raise ValueError(f"at most one mesh size may be -1, got data={data}, fsdp={fsdp}, "
                         f"tensor={tensor}")
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if len(devices) % known:
            raise ValueError(f"{len(devices)} devices cannot be split into a mesh with "
                             f"data={data}, fsdp={fsdp}, tensor={tensor}")
        sizes[sizes.index(-1)] = len(devices) // known
    if math.prod(sizes) != len(devices):
        raise ValueError(f"mesh data={sizes[0]} x fsdp={sizes[1]} x tensor={sizes[2]} = "
                         f"{math.prod(sizes)} devices, but {len(devices)} are available")
    # Auto axes: XLA's sharding propagation (GSPMD) places the intermediate values.
    axis_types = (AxisType.Auto,) * 3
    dcn = tuple(dcn) if dcn is not None else (num_slices(devices), 1, 1)
    if math.prod(dcn) == 1:
        return jax.make_mesh(tuple(sizes), MESH_AXES, axis_types=axis_types, devices=devices)
    if len(dcn) != 3 or any(s % d for s, d in zip(sizes, dcn)):
        raise ValueError(f"dcn={dcn} must give (data, fsdp, tensor) slice counts that divide "
                         f"the mesh sizes {tuple(sizes)}")
    ici = tuple(s // d for s, d in zip(sizes, dcn))
    grid = mesh_utils.create_hybrid_device_mesh(
        ici, dcn, devices, process_is_granule=num_slices(devices) == 1)
    return Mesh(grid, MESH_AXES, axis_types=axis_types)


def num_slices(devices: Sequence[jax.Device]) -> int:
    """Distinct TPU slices among `devices` (1 for devices without a slice index)."""
    return len({getattr(d, "slice_index", 0) for d in devices})


def _mesh_axes_size(mesh: Mesh, axes) -> int:
    if axes is None:
        return 1
    if isinstance(axes, str):
        axes = (axes,)
    return math.prod(mesh.shape[a] for a in axes)


def logical_to_spec(logical_axes: Sequence[Optional[str]], shape: Sequence[int], mesh: Mesh,
                    rules: Sequence[tuple[str, Any]] = DEFAULT_RULES) -> P:
    """PartitionSpec of an array from its logical axis names.

    Unknown names raise; a dimension that its mesh axes do not divide, or a mesh axis already
    used by an earlier dimension, is replicated.

    Example:
        logical_to_spec(("embed", "mlp"), (512, 2048), make_mesh(2, 2, 2))
        # -> PartitionSpec('fsdp', 'tensor')
    """
    table = dict(rules)
    used: set[str] = set()
    spec = []
    for name, dim in zip(logical_axes, shape):
        if name is None:
            spec.append(None)
            continue
        if name not in table:
            raise ValueError(f"logical axis {name!r} has no partitioning rule "
                             f"(known: {sorted(table)})")
        axes = table[name]
        axes_tuple = () if axes is None else ((axes,) if isinstance(axes, str) else tuple(axes))
        if (not axes_tuple or used & set(axes_tuple)
                or dim % _mesh_axes_size(mesh, axes_tuple)):
            spec.append(None)
            continue
        used |= set(axes_tuple)
        spec.append(axes if isinstance(axes, str) else tuple(axes_tuple))
    return P(*spec)


def _is_partitioned(x) -> bool:
    return isinstance(x, nn.Partitioned)


def logical_to_sharding(tree, mesh: Mesh, rules: Sequence[tuple[str, Any]] = DEFAULT_RULES):
    """NamedShardings for a tree of `nn.LogicallyPartitioned` boxes (arrays or shapes).

    Unboxed leaves (no axis names) are replicated. The result has the structure of the
    *unboxed* tree (as `nn.unbox(tree)`).
    """
    def one(x):
        if _is_partitioned(x):
            return NamedSharding(mesh, logical_to_spec(x.names, x.value.shape, mesh, rules))
        return NamedSharding(mesh, P())
    return jax.tree_util.tree_map(one, tree, is_leaf=_is_partitioned)


def batch_sharding(mesh: Mesh, ndim: int = 2, batch_axis: int = 0) -> NamedSharding:
    """Sharding of an array whose `batch_axis` holds rows: split over the mesh's batch axes
    (those of `BATCH_AXES` the mesh has), every other dimension replicated.

    Example:
        batch_sharding(make_mesh(2, 2, 2), ndim=3)       # PartitionSpec(('data', 'fsdp'), None, None)
        batch_sharding(mesh, ndim=2, batch_axis=1)        # [V, B] logits: PartitionSpec(None, (...))
    """
    axes = tuple(a for a in BATCH_AXES if a in mesh.axis_names)
    spec: list[Any] = [None] * ndim
    spec[batch_axis] = axes or None
    return NamedSharding(mesh, P(*spec))


def maybe_batch_sharding(mesh: Optional[Mesh], ndim: int,
                         batch_axis: int = 0) -> Optional[NamedSharding]:
    """`batch_sharding`, or None without a mesh (single-device decoding and scoring)."""
    return None if mesh is None else batch_sharding(mesh, ndim, batch_axis)


def constrain_batch(x: jax.Array, mesh: Optional[Mesh], batch_axis: int = 0) -> jax.Array:
    """Inside a jitted function: keeps `x`'s rows split over the batch axes (no-op without a
    mesh)."""
    sharding = maybe_batch_sharding(mesh, x.ndim, batch_axis)
    return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


def batch_multiple(mesh: Optional[Mesh]) -> int:
    """The batch must be a multiple of this: the number of devices along the batch axes."""
    if mesh is None:
        return 1
    return math.prod(mesh.shape[a] for a in BATCH_AXES if a in mesh.axis_names)


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


@contextlib.contextmanager
def mesh_context(mesh: Optional[Mesh], rules: Sequence[tuple[str, Any]] = DEFAULT_RULES
                 ) -> Iterator[None]:
    """Makes the mesh and the logical-axis rules visible to the model's activation
    constraints while a function is traced (either may be None / empty)."""
    with (jax.set_mesh(mesh) if mesh is not None else contextlib.nullcontext()), \
            nn.logical_axis_rules(tuple(rules or ())):
        yield


def in_mesh_context(fn: Callable, mesh: Optional[Mesh], rules) -> Callable:
    """`fn`, called inside `mesh_context(mesh, rules)` when either is given."""
    if mesh is None and not rules:
        return fn

    def run(*args):
        with mesh_context(mesh, rules):
            return fn(*args)
    return run


def to_host(x: jax.Array) -> np.ndarray:
    """A (possibly multi-host sharded) array as one numpy array on every host."""
    if getattr(x, "is_fully_addressable", True):
        return np.asarray(jax.device_get(x))
    from jax.experimental import multihost_utils
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def num_batch_shards(mesh: Mesh) -> int:
    """How many ways the batch dimension is split (data x fsdp)."""
    return _mesh_axes_size(mesh, BATCH_AXES)


def make_global_batch(local_batch: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
    """Assembles this host's rows into globally sharded arrays.

    Each process passes its own rows (global batch / process_count of them); on one host that
    is the whole batch.
    """
    return {k: jax.make_array_from_process_local_data(batch_sharding(mesh, v.ndim), v)
            for k, v in local_batch.items()}


def shard_shapes(tree) -> Any:
    """Per-device shard shape of every array leaf (for checks and logging)."""
    return jax.tree_util.tree_map(lambda a: a.addressable_shards[0].data.shape, tree)
