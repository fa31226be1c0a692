"""The evaluator's label words (" correct" / " incorrect") as token ids.

Scoring reads both label words at ONE position: the next-token distribution after the prompt.
A vocabulary may split a word, e.g. the synthetic SentencePiece model encodes " correct" as
["▁", "correct"] and " incorrect" as ["▁", "incorrect"]. The tokens the two words share at the
front belong to both continuations with the same probability, so they cancel in
S = p(pos) / (p(pos) + p(neg)); they are appended to the prompt instead, and what remains of
each word must be exactly one token. Anything else is rejected at start with an error naming
the vocabulary and the word.

Example (synthetic vocabulary):
    resolve_label_words(vocab, " correct", " incorrect")
    -> LabelWords(prefix=(447,), positive=302, negative=307)
"""

from __future__ import annotations

import dataclasses

import seqio

from mathft_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class LabelWords:
    prefix: tuple[int, ...]  # shared leading tokens, appended to every evaluator prompt
    positive: int  # the token read for "correct"
    negative: int  # the token read for "incorrect"


def resolve_label_words(vocab: seqio.Vocabulary, positive: str, negative: str) -> LabelWords:
    """Token ids of the two label words; see the module docstring."""
    pos, neg = list(vocab.encode(positive)), list(vocab.encode(negative))
    shared = 0
    while shared < min(len(pos), len(neg)) and pos[shared] == neg[shared]:
        shared += 1
    for word, ids in ((positive, pos), (negative, neg)):
        rest = ids[shared:]
        if len(rest) != 1:
            raise ConfigError(
                f"label word {word!r} is {len(rest)} tokens after the {shared} it shares with "
                f"the other word in vocabulary {_name(vocab)} (ids {ids}); the evaluator reads "
                "one token per label word: choose label words that differ in one token")
    return LabelWords(prefix=tuple(pos[:shared]), positive=pos[shared], negative=neg[shared])


def _name(vocab: seqio.Vocabulary) -> str:
    path = getattr(vocab, "sentencepiece_model_file", None) or getattr(vocab, "name", None)
    return f"{type(vocab).__name__}({path})" if path else type(vocab).__name__
