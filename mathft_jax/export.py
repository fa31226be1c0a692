"""Entry point: export a model's parameters for evaluation and for other tools.

    python -m mathft_jax.export --gin_file=gin_configs/runs/export.gin \
        --gin.OUTPUT_DIR="'exports/gemma3_270m'" [--gin.PRETRAINED="'gemma3_270m'"] \
        [--gin.DTYPE="'bfloat16'"] [--gin.FORMATS="('orbax',)"]

    # a fine-tuned run instead of a pretrained model (the model gin file gives the config):
    python -m mathft_jax.export --gin_file=gin_configs/models/gemma3_270m.gin \
        --gin_file=gin_configs/runs/export.gin --gin.PRETRAINED=None \
        --gin.CHECKPOINT="'runs/gemma_sft'" --gin.export.model_config=%MODEL_CONFIG \
        --gin.OUTPUT_DIR="'exports/gemma_sft'"

Writes into OUTPUT_DIR:
    params/             Orbax params-only checkpoint (`training.checkpoints.export_params`),
                        in DTYPE; `python -m mathft_jax.infer --gin.CHECKPOINT=OUTPUT_DIR/params`
    hf/model.safetensors, hf/config.json
                        Hugging Face tensor names (Gemma3ForCausalLM or LlamaForCausalLM), in
                        DTYPE; hf/tokenizer.model too when the source has a SentencePiece model
    export.json         {"version": 1, "source": ..., "dtype": ..., "formats": [...],
                         "model_config": {...}, "bos_id": int|null, "licence_note": str|null}
    NOTICE.txt          only for weights under use terms (Gemma): the terms to carry along

The run holds `OUTPUT_DIR/export.lock` (`training.run_lock`): a second export into the same
folder is refused, a killed one's lock is taken over.

From Python, gin-free: `run_export(ExportSettings(...))`, or the keyword form `export(...)`; only the
command line (`main`) reads gin, where `ExportSettings`'s fields are bound as `export.*`.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence

if __name__ == "__main__":
    # Run the copy imported under its package name, so that gin registers one `export`.
    from mathft_jax.export import main as _main
    _main()
    sys.exit(0)

import dataclasses  # noqa: E402
import os  # noqa: E402

import gin  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax.linen import meta  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P  # noqa: E402

from mathft_jax import distributed, file_paths, preflight  # noqa: E402
from mathft_jax.atomic_files import (atomic_write_bytes, atomic_write_json,  # noqa: E402
                                     atomic_write_text)
from mathft_jax.errors import ConfigError  # noqa: E402
from mathft_jax.models import Decoder, safetensors_io  # noqa: E402
from mathft_jax.models.config import ModelConfig  # noqa: E402
from mathft_jax.models.pretrained import load_pretrained  # noqa: E402
# Imported here, not lazily: it registers gin configurables, which must exist before
# run_tool finalizes the config.
from mathft_jax.training import checkpoints, run_lock  # noqa: E402

EXPORT_VERSION = 1
FORMATS = ("orbax", "safetensors")


def _from_checkpoint(checkpoint: str, config: ModelConfig):
    shapes = jax.eval_shape(lambda: meta.unbox(Decoder(config).init(
        jax.random.PRNGKey(0), jnp.zeros((1, 2), jnp.int32))["params"]))
    sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree_util.tree_map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), shapes)
    return checkpoints.restore_params(checkpoint, target)


def _replicated_over_processes(params):
    """Host-local params as arrays replicated over one device of each process: in a
    multi-host run Orbax saves only such global arrays (collectively), never host-local ones."""
    if jax.process_count() == 1:
        return params
    first = {}
    for d in jax.devices():
        first.setdefault(d.process_index, d)
    sharding = NamedSharding(Mesh(np.array(list(first.values())), ("process",)), P())
    return jax.tree_util.tree_map(
        lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), params)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExportSettings:
    """Everything one `export` run reads. On the command line, gin binds these fields under
    the name `export` (`gin_configs/runs/export.gin`).

    Attributes:
      output_dir: where to write (created).
      pretrained: a `load_pretrained` name or path ("gemma3_270m", a .gguf, an HF directory).
      checkpoint: instead of `pretrained`, a run's MODEL_DIR, step folder or params export;
        needs `model_config`.
      model_config: the model of `checkpoint` (bind `export.model_config = %MODEL_CONFIG`).
      formats: any of "orbax", "safetensors".
      dtype: dtype of the exported tensors, e.g. "float32" or "bfloat16".

    """

    output_dir: str
    pretrained: Optional[str] = None
    checkpoint: Optional[str] = None
    model_config: Optional[ModelConfig] = None
    formats: Sequence[str] = FORMATS
    dtype: str = "float32"


def export(**settings: Any) -> Optional[dict]:
    """`run_export(ExportSettings(**settings))`: the keyword form, e.g.
    `export(output_dir="exports/gemma", pretrained="gemma3_270m", formats=("safetensors",))`."""
    return run_export(ExportSettings(**settings))


@dataclasses.dataclass(frozen=True)
class _Source:
    """The params to export and what travels with them."""

    config: ModelConfig
    params: Any
    name: str
    bos_id: Optional[int] = None
    licence: Optional[str] = None
    vocab_file: Optional[str] = None


@run_lock.releases_locks
def run_export(settings: ExportSettings) -> Optional[dict]:
    """Exports params as an Orbax params-only checkpoint and/or HF-named safetensors.

    In a multi-host run every host loads the params and takes part in the Orbax save (a
    collective write); the other files are written by the primary host alone, and the other
    hosts return None.

    Returns:
      The manifest written to export.json (None on a non-primary host).
    """
    s = settings
    distributed.maybe_initialize()
    _check(s)
    # Before any model is loaded: a second export into the same folder stops at once.
    run_lock.hold_output(s.output_dir, "export.output_dir", folder=True,
                         lock_name=run_lock.EXPORT_LOCK_FILE)
    out = file_paths.as_path(s.output_dir)
    source = _source(s)
    config = dataclasses.replace(source.config, param_dtype=s.dtype)
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, s.dtype), source.params)

    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "orbax" in s.formats:
        target = out / "params"
        if target.exists():
            raise ConfigError(f"{target} already exists; choose another OUTPUT_DIR")
        checkpoints.export_params(target, _replicated_over_processes(params))
        written.append("params")
    if not distributed.is_primary_host():
        return None
    if "safetensors" in s.formats:
        written += _write_hf(out, config, params, s.dtype, source)
    if source.licence:
        atomic_write_text(out / "NOTICE.txt", source.licence + "\n")
        written.append("NOTICE.txt")
    manifest = {"version": EXPORT_VERSION, "source": str(source.name), "dtype": s.dtype,
                "formats": list(s.formats), "files": written, "bos_id": source.bos_id,
                "licence_note": source.licence, "model_config": dataclasses.asdict(config)}
    atomic_write_json(out / "export.json", manifest)
    print(f"exported {source.name} ({s.dtype}) to {out}: {', '.join(written)}")
    return manifest


def _check(s: ExportSettings) -> None:
    """The settings' own checks, before any model is loaded."""
    checks = preflight.Checks("export")
    checks.that(s.formats and not set(s.formats) - set(FORMATS),
                f"export.formats must be a non-empty subset of {FORMATS}, got {tuple(s.formats)}")
    checks.that((s.pretrained is None) != (s.checkpoint is None),
                "set exactly one of export.pretrained (PRETRAINED) and export.checkpoint "
                "(CHECKPOINT)")
    checks.creatable_dir(output_dir=s.output_dir).existing(optional=True,
                                                           checkpoint=s.checkpoint)
    checks.raise_any()
    try:
        jnp.dtype(s.dtype)
    except TypeError:
        raise ConfigError(f"export.dtype {s.dtype!r} is not a dtype name") from None


def _source(s: ExportSettings) -> _Source:
    """The pretrained model or the checkpoint's params (with `model_config`)."""
    if s.pretrained is not None:
        loaded = load_pretrained(s.pretrained)
        vocab = loaded.vocabulary
        return _Source(loaded.config, loaded.params, s.pretrained, loaded.bos_id,
                       loaded.licence_note,
                       getattr(vocab, "sentencepiece_model_file", None) if vocab else None)
    if s.model_config is None:
        raise ConfigError("export.checkpoint needs export.model_config "
                          "(include a gin_configs/models/*.gin and bind %MODEL_CONFIG)")
    return _Source(s.model_config, _from_checkpoint(s.checkpoint, s.model_config), s.checkpoint)


def _write_hf(out, config: ModelConfig, params: Any, dtype: str, source: _Source) -> list[str]:
    """hf/model.safetensors, hf/config.json and the source's tokenizer.model, if any."""
    extra = {"bos_token_id": source.bos_id} if source.bos_id is not None else {}
    safetensors_io.export_safetensors(config, params, out / "hf", dtype=dtype,
                                      extra_config=extra)
    written = ["hf/model.safetensors", "hf/config.json"]
    if source.vocab_file and os.path.isfile(source.vocab_file):
        atomic_write_bytes(out / "hf" / "tokenizer.model",
                           file_paths.as_path(source.vocab_file).read_bytes())
        written.append("hf/tokenizer.model")
    return written


gin.register("export", module="mathft_jax.export")(ExportSettings)


def main(argv: Optional[Sequence[str]] = None) -> Any:
    """`python -m mathft_jax.export`: the settings from gin, then `run_export`."""
    from mathft_jax import gin_utils
    return gin_utils.run_tool("export", ExportSettings, run_export, argv)
