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
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

import gin
import jax
import jax.numpy as jnp
import numpy as np
from flax.linen import meta
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mathft_jax import distributed, file_paths, preflight
from mathft_jax.atomic_files import atomic_write_bytes, atomic_write_json, atomic_write_text
from mathft_jax.errors import ConfigError
from mathft_jax.models import Decoder, safetensors_io
from mathft_jax.models.config import ModelConfig
from mathft_jax.models.pretrained import load_pretrained
# Imported here, not lazily: it registers gin configurables, which must exist before
# run_main finalizes the config.
from mathft_jax.training import checkpoints, run_lock

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


@run_lock.releases_locks
@gin.configurable
def export(output_dir: str = gin.REQUIRED, pretrained: Optional[str] = None,
           checkpoint: Optional[str] = None, model_config: Optional[ModelConfig] = None,
           formats: Sequence[str] = FORMATS, dtype: str = "float32") -> Optional[dict]:
    """Exports params as an Orbax params-only checkpoint and/or HF-named safetensors.

    In a multi-host run every host loads the params and takes part in the Orbax save (a
    collective write); the other files are written by the primary host alone, and the other
    hosts return None.

    Args:
      output_dir: where to write (created).
      pretrained: a `load_pretrained` name or path ("gemma3_270m", a .gguf, an HF directory).
      checkpoint: instead of `pretrained`, a run's MODEL_DIR, step folder or params export;
        needs `model_config`.
      model_config: the model of `checkpoint` (bind `export.model_config = %MODEL_CONFIG`).
      formats: any of "orbax", "safetensors".
      dtype: dtype of the exported tensors, e.g. "float32" or "bfloat16".

    Returns:
      The manifest written to export.json (None on a non-primary host).
    """
    distributed.maybe_initialize()
    checks = preflight.Checks("export")
    checks.that(formats and not set(formats) - set(FORMATS),
                f"export.formats must be a non-empty subset of {FORMATS}, got {tuple(formats)}")
    checks.that((pretrained is None) != (checkpoint is None),
                "set exactly one of export.pretrained (PRETRAINED) and export.checkpoint "
                "(CHECKPOINT)")
    checks.creatable_dir(output_dir=output_dir).existing(optional=True, checkpoint=checkpoint)
    checks.raise_any()
    try:
        jnp.dtype(dtype)
    except TypeError:
        raise ConfigError(f"export.dtype {dtype!r} is not a dtype name") from None
    # Before any model is loaded: a second export into the same folder stops at once.
    run_lock.hold_output(output_dir, "export.output_dir", folder=True,
                         lock_name=run_lock.EXPORT_LOCK_FILE)
    out = file_paths.as_path(output_dir)
    vocab_file, bos_id, licence = None, None, None
    if pretrained is not None:
        loaded = load_pretrained(pretrained)
        config, params, source = loaded.config, loaded.params, pretrained
        bos_id, licence = loaded.bos_id, loaded.licence_note
        vocab = loaded.vocabulary
        vocab_file = getattr(vocab, "sentencepiece_model_file", None) if vocab else None
    else:
        if model_config is None:
            raise ConfigError("export.checkpoint needs export.model_config "
                              "(include a gin_configs/models/*.gin and bind %MODEL_CONFIG)")
        config, params, source = model_config, _from_checkpoint(checkpoint, model_config), \
            checkpoint
    config = dataclasses.replace(config, param_dtype=dtype)
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), params)

    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "orbax" in formats:
        target = out / "params"
        if target.exists():
            raise ConfigError(f"{target} already exists; choose another OUTPUT_DIR")
        checkpoints.export_params(target, _replicated_over_processes(params))
        written.append("params")
    if not distributed.is_primary_host():
        return None
    if "safetensors" in formats:
        extra = {"bos_token_id": bos_id} if bos_id is not None else {}
        safetensors_io.export_safetensors(config, params, out / "hf", dtype=dtype,
                                          extra_config=extra)
        written += ["hf/model.safetensors", "hf/config.json"]
        if vocab_file and os.path.isfile(vocab_file):
            atomic_write_bytes(out / "hf" / "tokenizer.model",
                               file_paths.as_path(vocab_file).read_bytes())
            written.append("hf/tokenizer.model")
    if licence:
        atomic_write_text(out / "NOTICE.txt", licence + "\n")
        written.append("NOTICE.txt")
    manifest = {"version": EXPORT_VERSION, "source": str(source), "dtype": dtype,
                "formats": list(formats), "files": written, "bos_id": bos_id,
                "licence_note": licence, "model_config": dataclasses.asdict(config)}
    atomic_write_json(out / "export.json", manifest)
    print(f"exported {source} ({dtype}) to {out}: {', '.join(written)}")
    return manifest


if __name__ == "__main__":
    from mathft_jax import gin_utils
    gin_utils.run_main(export)
