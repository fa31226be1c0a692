"""Vocabularies: SentencePiece (a file, or trained on the fly and cached) or raw bytes.

* `get_vocabulary(kind="bytes")`: `seqio.ByteVocabulary` (pad 0, eos 1, unk 2, bytes from 3).
* `get_vocabulary(kind="sentencepiece", path=...)`: a pretrained model's `.model` file.
* `get_vocabulary(kind="pretrained", path="gemma3_270m")`: a pretrained model's own
  SentencePiece model (see `models.pretrained.pretrained_tokenizer_path`, found through
  `data.pretrained_tokenizers`): for "gemma3_270m" the
  `tokenizer.model` cached by `mathft_jax.models.load_pretrained`, built (with the rest of the
  cache) only if it is not there yet; `path` may also be a Hugging Face checkpoint directory
  (its `tokenizer.model`) or a `.gguf` file (its rebuilt SentencePiece model).
* `get_vocabulary(kind="synthetic")`: the synthetic benchmark's own small SentencePiece model,
  trained deterministically on first use from generated text and cached at
  `$MATHFT_CACHE/vocab/synthetic-v<GENERATOR_VERSION>-<vocab_size>-digits.model` (`$MATHFT_CACHE`
  defaults to `~/.cache/mathft_jax`), so no binary is committed.

All use extra_ids=0. Task registration must stay cheap, so tasks hold a `DeferredVocabulary`:
it calls its factory (`task_factory`'s: the vocabulary the current `task_options` name) only
when first used, after the entry point has installed the options, and again when they change.

Example:
    >>> vocab = get_vocabulary("bytes")
    >>> vocab.encode("ab"), vocab.eos_id
    ([100, 101], 1)
"""

from __future__ import annotations

import io
import logging
import os
import threading
from pathlib import Path
from typing import Callable, Hashable, Iterable, Optional

import gin
import seqio
import sentencepiece as spm

from mathft_jax.atomic_files import atomic_write_bytes
from mathft_jax.cache_dirs import ENV_CACHE, cache_root  # noqa: F401 (ENV_CACHE re-exported)
from mathft_jax.data import pretrained_tokenizers

VOCAB_KINDS = ("bytes", "sentencepiece", "pretrained", "synthetic")
SYNTHETIC_VOCAB_SIZE = 512
# Problems whose text trains the synthetic vocabulary (both solution styles of each).
_SYNTHETIC_VOCAB_TRAIN_PROBLEMS = 5000
_lock = threading.RLock()  # re-entrant: a deferred factory may train the synthetic vocab


def cache_dir() -> Path:
    """`$MATHFT_CACHE`, else `~/.cache/mathft_jax`."""
    return cache_root()


def train_sentencepiece(texts: Iterable[str], vocab_size: int, model_path: str | os.PathLike,
                        *, model_type: str = "bpe", split_digits: bool = True) -> Path:
    """Trains a SentencePiece model on `texts` and writes it atomically to `model_path`.

    The result is byte-for-byte deterministic for the same texts and arguments (one thread,
    no sampling of the input). Ids follow seqio's convention: pad 0, eos 1, unk 2, no bos.
    Normalisation is the identity and whitespace is kept as is, so LaTeX and newlines
    round-trip exactly. `vocab_size` is a soft limit: a small corpus may yield fewer pieces.
    `split_digits` (default, as in Gemma and Llama) makes every digit its own token, so numbers
    are spelled the same way wherever they occur: without it BPE merges digits with
    neighbours ("$4", "-2" "0", "13" "7"), which small models learn arithmetic from far worse.

    Returns:
      The path written.
    """
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)), model_writer=writer, vocab_size=vocab_size,
        model_type=model_type, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1,
        hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="identity",
        split_digits=split_digits,
        remove_extra_whitespaces=False, user_defined_symbols=["\n"], minloglevel=2,
        max_sentence_length=1 << 20, input_sentence_size=0, shuffle_input_sentence=False)
    model_path = Path(model_path)
    return atomic_write_bytes(model_path, writer.getvalue())


def synthetic_vocab_texts(num_problems: int = _SYNTHETIC_VOCAB_TRAIN_PROBLEMS) -> list[str]:
    """The text the synthetic vocabulary is trained on: prompts plus both solution styles."""
    from mathft_jax.data import prompts, synthetic  # local: keeps this module's import light
    texts = [prompts.fewshot_prompt("") + " correct incorrect "
             + prompts.evaluator_prompt("", "")]
    for p in synthetic.generate_split("train", num_problems):
        texts.append(prompts.sft_prompt(p.problem) + p.solution)
        texts.append(p.solution_terse)
    return texts


def synthetic_vocab_path(vocab_size: int = SYNTHETIC_VOCAB_SIZE) -> Path:
    """The cached synthetic SentencePiece model, trained now if it is not there yet."""
    from mathft_jax.data import synthetic
    path = (cache_dir() / "vocab" /
            f"synthetic-v{synthetic.GENERATOR_VERSION}-{vocab_size}-digits.model")
    with _lock:
        if not path.is_file():
            logging.info("Training the synthetic SentencePiece vocabulary into %s", path)
            train_sentencepiece(synthetic_vocab_texts(), vocab_size, path)
    return path


@gin.register(module="mathft_jax.data")
def get_vocabulary(kind: str = "bytes", path: Optional[str] = None,
                   vocab_size: int = SYNTHETIC_VOCAB_SIZE) -> seqio.Vocabulary:
    """Builds a seqio vocabulary (extra_ids=0).

    Args:
      kind: "bytes", "sentencepiece" (needs `path`), "pretrained" (needs `path`) or
        "synthetic" (trained and cached).
      path: the SentencePiece `.model` file for kind="sentencepiece"; for kind="pretrained",
        a `load_pretrained` name such as "gemma3_270m" (see
        `models.pretrained.pretrained_tokenizer_path`).
      vocab_size: size of the synthetic vocabulary (kind="synthetic").

    Raises:
      ValueError: on an unknown kind or a missing path.
      FileNotFoundError: when the SentencePiece file does not exist.
    """
    if kind == "bytes":
        return seqio.ByteVocabulary(extra_ids=0)
    if kind == "sentencepiece":
        if not path:
            raise ValueError("get_vocabulary(kind='sentencepiece') needs path= (bind "
                             "mathft_jax.data.math_vocabulary.path, or "
                             "synthetic_vocabulary.path, in gin)")
        if not Path(path).is_file():
            raise FileNotFoundError(f"SentencePiece model {path} does not exist")
        return seqio.SentencePieceVocabulary(str(path), extra_ids=0)
    if kind == "pretrained":
        if not path:
            raise ValueError("get_vocabulary(kind='pretrained') needs path= (a pretrained model "
                             "name such as 'gemma3_270m'; bind mathft_jax.data.math_vocabulary"
                             ".path in gin)")
        return seqio.SentencePieceVocabulary(str(pretrained_tokenizers.tokenizer_path(path)),
                                             extra_ids=0)
    if kind == "synthetic":
        return seqio.SentencePieceVocabulary(str(synthetic_vocab_path(vocab_size)), extra_ids=0)
    raise ValueError(f"vocabulary kind must be one of {VOCAB_KINDS}, got {kind!r}")


class DeferredVocabulary(seqio.Vocabulary):
    """A seqio vocabulary that builds the real one from `factory()` on first use.

    Example:
        >>> vocab = DeferredVocabulary(lambda: get_vocabulary("bytes"))  # nothing built yet
        >>> vocab.vocab_size
        259
    """

    def __init__(self, factory: Callable[[], seqio.Vocabulary], name: str = "deferred",
                 key: Optional[Callable[[], Hashable]] = None):
        """`factory` builds the vocabulary; with `key`, it is built again whenever `key()`
        returns another value than when it was last built (e.g. the options it is built
        from). `name` names it (`str`, recipe fingerprints)."""
        super().__init__(extra_ids=0)
        self._factory = factory
        self._name = name
        self._key = key
        self._built: Optional[tuple[Hashable, seqio.Vocabulary]] = None

    @property
    def resolved(self) -> seqio.Vocabulary:
        key = self._key() if self._key is not None else None
        built = self._built
        if built is None or built[0] != key:
            with _lock:
                built = self._built
                if built is None or built[0] != key:
                    built = self._built = (key, self._factory())
        return built[1]

    def reset(self) -> None:
        """Forgets the built vocabulary: the next use calls the factory again."""
        self._built = None

    @property
    def bos_id(self) -> Optional[int]:
        try:
            return self.resolved.bos_id
        except NotImplementedError:
            return None

    @property
    def eos_id(self) -> Optional[int]:
        return self.resolved.eos_id

    @property
    def pad_id(self) -> int:
        return self.resolved.pad_id

    @property
    def unk_id(self) -> Optional[int]:
        return self.resolved.unk_id

    @property
    def extra_ids(self) -> int:
        return self.resolved.extra_ids

    @property
    def _base_vocab_size(self) -> int:
        return self.resolved._base_vocab_size  # pylint: disable=protected-access

    def _encode(self, s):
        return self.resolved.encode(s)

    def _decode(self, ids):
        return self.resolved.decode(ids)

    def _encode_tf(self, s):
        return self.resolved.encode_tf(s)

    def _decode_tf(self, ids):
        return self.resolved.decode_tf(ids)

    def decode(self, ids):
        return self.resolved.decode(ids)

    def decode_tf(self, ids):
        return self.resolved.decode_tf(ids)

    def __eq__(self, other) -> bool:
        if isinstance(other, DeferredVocabulary):
            return self is other or self.resolved == other.resolved
        return self.resolved == other

    def __hash__(self) -> int:
        return id(self)

    def __str__(self) -> str:
        return f"DeferredVocabulary({self._name})"
