"""The SentencePiece file of a pretrained model, for vocabularies of kind "pretrained".

Pretrained models belong to the models layer, above data: `mathft_jax.models.pretrained`
registers how it finds (or builds) a model's tokenizer (`pretrained_tokenizer_path`) when it
is imported, so the data layer never imports the models layer. Every entry point imports the
models package before it builds a vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

_resolver: Optional[Callable[[str], Path]] = None


def register(resolver: Callable[[str], Path]) -> None:
    """Sets the function that maps a pretrained model's name to its SentencePiece file."""
    global _resolver
    _resolver = resolver


def tokenizer_path(name: str) -> Path:
    """The SentencePiece file of pretrained model `name` (see the registered resolver).

    Raises:
      ValueError: no resolver is registered (`mathft_jax.models` was never imported), or the
        resolver's own errors (e.g. the source has no SentencePiece model).
    """
    if _resolver is None:
        raise ValueError("vocabulary kind 'pretrained' needs the models package: import "
                         "mathft_jax.models first")
    return _resolver(name)
