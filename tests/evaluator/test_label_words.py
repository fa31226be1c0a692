"""resolve_label_words: shared leading tokens become the prompt suffix, and what remains of each
word must be one token. ByteVocabulary: one token per byte, id = byte + 3."""

import pytest
import seqio

from mathft_jax.evaluator.label_words import LabelWords, resolve_label_words
from mathft_jax.errors import ConfigError

VOCAB = seqio.ByteVocabulary(extra_ids=0)
A, B, C = ord("a") + 3, ord("b") + 3, ord("c") + 3


@pytest.mark.parametrize("positive, negative, expected", [
    ("b", "c", LabelWords((), B, C)),             # nothing shared
    ("ab", "ac", LabelWords((A,), B, C)),         # one shared token
    ("aab", "aac", LabelWords((A, A), B, C)),     # two
    ("ac", "ab", LabelWords((A,), C, B)),         # the order of the two words is kept
])
def test_shared_prefix_and_one_token_each(positive, negative, expected):
    assert resolve_label_words(VOCAB, positive, negative) == expected


@pytest.mark.parametrize("positive, negative, word, count, shared", [
    ("abc", "ad", "abc", 2, 1),   # the positive word has two tokens left
    ("ab", "acd", "acd", 2, 1),   # the negative word has two tokens left
    ("ab", "ab", "ab", 0, 2),     # the same word: nothing left to read
    ("a", "ab", "a", 0, 1),       # one word is a prefix of the other
])
def test_words_that_are_not_one_token_apart_are_rejected(positive, negative, word, count, shared):
    message = (f"label word {word!r} is {count} tokens after the {shared} it shares with the "
               "other word in vocabulary ByteVocabulary")
    with pytest.raises(ConfigError, match=message):
        resolve_label_words(VOCAB, positive, negative)


class _Chars:
    """A vocabulary stand-in: one token per character."""

    def encode(self, text):
        return [ord(c) for c in text]


class _Spm(_Chars):
    sentencepiece_model_file = "/m/spm.model"
    name = "not shown: the model file wins"


class _Named(_Chars):
    sentencepiece_model_file = None
    name = "bytes"


@pytest.mark.parametrize("vocab, shown", [(_Spm(), "_Spm(/m/spm.model)"),
                                          (_Named(), "_Named(bytes)"), (_Chars(), "_Chars")])
def test_the_error_names_the_vocabulary(vocab, shown):
    with pytest.raises(ConfigError) as error:
        resolve_label_words(vocab, "abc", "ad")
    assert str(error.value).endswith(
        f"in vocabulary {shown} (ids [97, 98, 99]); the evaluator reads one token per label "
        "word: choose label words that differ in one token")
