"""The tasks' options as one explicit object (`data.task_options`): defaults that match their
gin names', validation when built, a process-wide current value, and what a recipe
fingerprint records of a vocabulary."""

import dataclasses

import gin
import pytest

from mathft_jax.data import synthetic, task_options, vocab


def test_the_defaults_are_the_gin_named_ones():
    options = task_options.TaskOptions()
    assert options.math_vocabulary == task_options.math_vocabulary() == \
        task_options.VocabularyOptions(kind="bytes")
    assert options.synthetic_vocabulary == task_options.synthetic_vocabulary()
    assert options.synthetic_vocabulary.kind == "synthetic"
    assert task_options.SYNTHETIC_VOCAB_SIZE == vocab.SYNTHETIC_VOCAB_SIZE
    assert options.synthetic.levels == synthetic.LEVELS and options.synthetic.families is None
    assert options.math == task_options.MathTaskOptions("paper", "raise", None)
    assert options.math_data_dir is None
    assert set(task_options.VOCABULARIES) == {
        f.name for f in dataclasses.fields(options) if f.type == "VocabularyOptions"}


def test_registering_keeps_them_plain():
    gin.clear_config()
    try:
        gin.parse_config(["tasks.synthetic_task_options.num_test = 3",
                          "mathft_jax.data.math_vocabulary.kind = 'synthetic'"])
        assert task_options.SyntheticTaskOptions().num_test == 500
        assert task_options.math_vocabulary().kind == "bytes"
    finally:
        gin.clear_config()


@pytest.mark.parametrize("bad,match", [
    ({"corruption_rate": 1.5}, "corruption_rate"),
    ({"levels": ()}, "levels"),
    ({"levels": (1, 6)}, "levels"),
    ({"families": ("Astrology",)}, "Astrology"),
])
def test_synthetic_options_are_checked_when_built(bad, match):
    with pytest.raises(ValueError, match=match):
        task_options.SyntheticTaskOptions(**bad)


def test_synthetic_sequences_become_tuples():
    options = task_options.SyntheticTaskOptions(levels=[2, 1], families=["Fractions"])
    assert options.levels == (2, 1) and options.families == ("Fractions",)
    hash(options)  # hashable: a task's records are cached per options


def test_set_current_and_replaced():
    mine = task_options.TaskOptions(math_data_dir="/data/math")
    before = task_options.set_current(mine)
    assert before == task_options.TaskOptions() and task_options.current() is mine
    with task_options.replaced(synthetic=task_options.SyntheticTaskOptions(seed=4)) as inner:
        assert task_options.current() is inner
        assert inner.synthetic.seed == 4 and inner.math_data_dir == "/data/math"
    assert task_options.current() is mine
    with pytest.raises(RuntimeError):
        with task_options.replaced(math_data_dir="/other"):
            raise RuntimeError("restored all the same")
    assert task_options.current() is mine
    with pytest.raises(TypeError, match="TaskOptions"):
        task_options.set_current({"math_data_dir": "/x"})


def test_a_vocabulary_identity_holds_the_fields_set_away_from_the_defaults():
    options = task_options.TaskOptions()
    assert options.vocabulary_identity("math_vocabulary") == {}
    assert options.vocabulary_identity("synthetic_vocabulary") == {}
    chosen = dataclasses.replace(
        options, math_vocabulary=task_options.math_vocabulary("pretrained", "gemma3_270m"),
        synthetic_vocabulary=task_options.synthetic_vocabulary(vocab_size=256))
    assert chosen.vocabulary_identity("math_vocabulary") == {"kind": "pretrained",
                                                             "path": "gemma3_270m"}
    assert chosen.vocabulary_identity("synthetic_vocabulary") == {"vocab_size": 256}


def test_vocabulary_options_build_their_vocabulary():
    assert task_options.VocabularyOptions().build().vocab_size == 259
