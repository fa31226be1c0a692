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
