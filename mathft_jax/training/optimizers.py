"""Learning-rate schedules and optax optimizers (AdamW, Adafactor).

`build_optimizer` takes every setting from its caller and reads no gin: recipe stages pass
theirs explicitly, and the entry points (`train`, `train_sequence`) read the gin bindings of
`make_schedule` / `make_optimizer` at their edge (`gin_utils.configured_arguments`) and pass
them in. Example gin for those entry points:
    make_schedule.peak_value = 1e-4
    make_schedule.warmup_steps = 100
    make_schedule.decay = "cosine"
    make_optimizer.name = "adamw"
    make_optimizer.weight_decay = 0.01
    make_optimizer.clip_norm = 1.0
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Optional

import gin
import jax
import jax.numpy as jnp
import optax

# Parameter names (last path element) that never get weight decay.
NO_DECAY_NAMES = ("scale", "embedding", "unembedding", "bias")


def make_schedule(total_steps: int, peak_value: float = 1e-4, warmup_steps: int = 0,
                  decay: str = "cosine", end_value_fraction: float = 0.0) -> optax.Schedule:
    """Linear warmup from 0 to `peak_value`, then a decay.

    Args:
      total_steps: training length (the cosine reaches its end value here).
      peak_value: learning rate after warmup.
      warmup_steps: linear warmup length.
      decay: "cosine" (to peak * end_value_fraction at total_steps), "rsqrt"
        (peak * sqrt(warmup / step) after warmup, T5-style) or "constant".
      end_value_fraction: final value of the cosine, as a fraction of the peak.
    """
    warmup_steps = max(int(warmup_steps), 0)
    if decay == "cosine":
        if warmup_steps:
            return optax.warmup_cosine_decay_schedule(
                0.0, peak_value, warmup_steps, max(total_steps, warmup_steps + 1),
                end_value=peak_value * end_value_fraction)
        return optax.cosine_decay_schedule(peak_value, max(total_steps, 1),
                                           alpha=end_value_fraction)
    if decay == "rsqrt":
        w = max(warmup_steps, 1)

        def rsqrt(step):
            step = jnp.asarray(step, jnp.float32)
            warm = peak_value * step / w
            return jnp.where(step < w, warm, peak_value * jnp.sqrt(w / jnp.maximum(step, 1.0)))
        return rsqrt
    if decay == "constant":
        if warmup_steps:
            return optax.join_schedules(
                [optax.linear_schedule(0.0, peak_value, warmup_steps),
                 optax.constant_schedule(peak_value)], [warmup_steps])
        return optax.constant_schedule(peak_value)
    raise ValueError(f"unknown decay {decay!r} (expected 'cosine', 'rsqrt' or 'constant')")


# Not a decorator: mutmut skips decorated functions (tests/mutation_report.md).
make_schedule = gin.register(make_schedule)


def decay_mask(params):
    """True for parameters that get weight decay: matrices, not norms or embeddings."""
    def keep(path, _):
        name = getattr(path[-1], "key", str(path[-1]))
        return name not in NO_DECAY_NAMES
    return jax.tree_util.tree_map_with_path(keep, params)


def make_optimizer(schedule: optax.Schedule, name: str = "adamw", weight_decay: float = 0.0,
                   clip_norm: Optional[float] = 1.0, b1: float = 0.9, b2: float = 0.95,
                   eps: float = 1e-8, adafactor_factored: bool = True,
                   adafactor_momentum: Optional[float] = None) -> optax.GradientTransformation:
    """The optimizer: global-norm clipping, then AdamW or Adafactor.

    Weight decay is decoupled (AdamW style, scaled by the learning rate) and skips norm scales
    and embeddings (see `decay_mask`).

    Args:
      schedule: learning-rate schedule (step -> value).
      name: "adamw" or "adafactor".
      weight_decay: decoupled weight-decay rate.
      clip_norm: clip gradients to this global L2 norm; None or <= 0 disables clipping.
      b1, b2, eps: Adam moments.
      adafactor_factored: factor the second moment of matrices (Adafactor's memory saving).
      adafactor_momentum: first-moment decay for Adafactor (None: no momentum).
    """
    parts = []
    if clip_norm is not None and clip_norm > 0:
        parts.append(optax.clip_by_global_norm(clip_norm))
    if name == "adamw":
        parts.append(optax.adamw(schedule, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay,
                                 mask=decay_mask))
    elif name == "adafactor":
        parts.append(optax.adafactor(schedule, factored=adafactor_factored,
                                     momentum=adafactor_momentum,
                                     weight_decay_rate=weight_decay or None,
                                     weight_decay_mask=decay_mask,
                                     multiply_by_parameter_scale=False))
    else:
        raise ValueError(f"unknown optimizer {name!r} (expected 'adamw' or 'adafactor')")
    return optax.chain(*parts)


# Not a decorator: mutmut skips decorated functions (tests/mutation_report.md).
make_optimizer = gin.register(make_optimizer)


@dataclasses.dataclass(frozen=True)
class BuiltOptimizer:
    """An optimizer, its schedule, and the settings they were built with (what a checkpoint
    fingerprints, so that a resume under another learning rate is refused)."""

    optimizer: optax.GradientTransformation
    schedule: optax.Schedule
    settings: dict[str, Any]

    def train_loop_args(self) -> dict[str, Any]:
        """The `optimizer`, `schedule` and `optimizer_settings` arguments of `train_loop`."""
        return {"optimizer": self.optimizer, "schedule": self.schedule,
                "optimizer_settings": self.settings}


def _defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """The keyword defaults of `fn` as written in its signature (never gin's bindings)."""
    return {p.name: p.default for p in inspect.signature(fn).parameters.values()
            if p.default is not inspect.Parameter.empty}


def build_optimizer(total_steps: int, schedule: Optional[dict[str, Any]] = None,
                    optimizer: Optional[dict[str, Any]] = None) -> BuiltOptimizer:
    """`make_optimizer(make_schedule(total_steps, **schedule), **optimizer)`, with the
    effective arguments (the functions' defaults, then the given ones) recorded.

    Every argument is passed explicitly, so gin bindings of `make_schedule` /
    `make_optimizer` cannot change what is built here: a caller that wants them reads them at
    its edge (`gin_utils.configured_arguments`) and passes them in.

    Example (a stage with its own learning rate; everything else from the defaults):
        >>> built = build_optimizer(100, schedule={"peak_value": 1e-4, "warmup_steps": 10})
        >>> built.settings["schedule"]["peak_value"], built.settings["optimizer"]["name"]
        (0.0001, 'adamw')
    """
    schedule_args = {**_defaults(make_schedule), **(schedule or {})}
    optimizer_args = {**_defaults(make_optimizer), **(optimizer or {})}
    built_schedule = make_schedule(total_steps, **schedule_args)
    return BuiltOptimizer(make_optimizer(built_schedule, **optimizer_args), built_schedule,
                          {"schedule": {**schedule_args, "total_steps": total_steps},
                           "optimizer": optimizer_args})
