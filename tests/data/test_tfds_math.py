import pytest

from mathft_jax.data import tfds_math
from tests.data.conftest import FAKE_MATH500


def _read(source, split):
    return sorted(ex["problem_id"].numpy().decode() for ex in
                  source.get_dataset(split, shuffle=False))


@pytest.mark.parametrize("layout", ["fake_archive", "fake_jsonl"])
def test_builds_and_reads_back_through_seqio(layout, request, tmp_path):
    manual = request.getfixturevalue(layout)
    data_dir = tmp_path / "tfds"
    for config in ("paper", "original"):
        builder = tfds_math.build_math_tfds(data_dir, manual, config)
        assert builder.info.config_name == config
    paper = tfds_math.math_tfds_source("paper", str(data_dir))
    assert _read(paper, "test") == sorted(FAKE_MATH500)
    assert len(_read(paper, "train")) == 4
    original = tfds_math.math_tfds_source("original", str(data_dir))
    assert len(_read(original, "train")) == 3 and len(_read(original, "test")) == 3
    ex = next(iter(original.get_dataset("train", shuffle=False)))
    assert set(ex) == set(tfds_math.FEATURES)


def test_manual_download_instructions():
    assert "math500_ids.txt" in tfds_math.HendrycksMath.MANUAL_DOWNLOAD_INSTRUCTIONS


def test_real_data_build(real_math_dir, tmp_path):
    """The real MATH builds in about a second; counts follow the paper split."""
    builder = tfds_math.build_math_tfds(tmp_path, real_math_dir, "paper")
    assert builder.info.splits["train"].num_examples == 12000
    assert builder.info.splits["test"].num_examples == 500
    task = tfds_math.register_math_tfds_task("math_sft_tfds_test", "paper", str(tmp_path))
    ex = next(iter(task.get_dataset({"inputs": 256, "targets": 256}, split="test",
                                    shuffle=False)))
    assert ex["inputs_pretokenized"].numpy().decode().startswith("Problem:\n")
    assert ex["inputs_pretokenized"].numpy().decode().endswith("\n\nSolution:\n")
