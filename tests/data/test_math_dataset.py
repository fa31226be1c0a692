import json

import pytest

from mathft_jax.data import math_dataset as md
from mathft_jax.data import records
from tests.data.conftest import FAKE_MATH500


def test_detect_layout(fake_archive, fake_jsonl, tmp_path):
    assert md.detect_layout(fake_jsonl) == ("jsonl", fake_jsonl)
    assert md.detect_layout(fake_archive) == ("archive", fake_archive / "MATH")
    assert md.detect_layout(fake_archive / "MATH") == ("archive", fake_archive / "MATH")
    with pytest.raises(FileNotFoundError, match="neither"):
        md.detect_layout(tmp_path)


@pytest.mark.parametrize("config", md.SPLIT_CONFIGS)
@pytest.mark.parametrize("split", md.SPLITS)
def test_both_layouts_agree(fake_archive, fake_jsonl, config, split):
    from_archive, _ = md.load_math(fake_archive, config, split)
    from_jsonl, _ = md.load_math(fake_jsonl, config, split)
    assert from_archive == from_jsonl


def test_original_and_paper_splits(fake_jsonl):
    train, _ = md.load_math(fake_jsonl, "original", "train")
    assert [p.problem_id for p in train] == [
        "train/algebra/0.json", "train/algebra/2.json", "train/geometry/1.json"]
    paper_test, _ = md.load_math(fake_jsonl, "paper", "test")
    assert [p.problem_id for p in paper_test] == FAKE_MATH500
    paper_train, _ = md.load_math(fake_jsonl, "paper", "train")
    assert {p.problem_id for p in paper_train} == {
        "train/algebra/0.json", "train/algebra/2.json", "train/geometry/1.json",
        "test/algebra/5.json"}


def test_fields_and_answers(fake_archive):
    train, _ = md.load_math(fake_archive, "original", "train")
    p = train[1]
    assert (p.problem, p.level, p.subject, p.answer) == (
        "Solve $2x=1$.", "Level 2", "Algebra", r"\frac{1}{2}")
    assert train[2].answer == ""  # no box: empty answer, still read
    test, _ = md.load_math(fake_archive, "original", "test")
    assert [q.answer for q in test] == ["4", "[1, 2)", "3"]


def test_malformed_archive_file(fake_archive):
    bad = fake_archive / "MATH" / "train" / "algebra" / "9.json"
    bad.write_text("{oops")
    with pytest.raises(records.DataFormatError, match=f"{bad}:1: bad JSON"):
        md.load_math(fake_archive, "original", "train")
    problems, report = md.load_math(fake_archive, "original", "train", on_error="skip")
    assert len(problems) == 3 and report.num_skipped == 1
    bad.write_text(json.dumps({"problem": "p", "level": 1, "type": "t", "solution": "s"}))
    with pytest.raises(records.DataFormatError, match="field 'level' must be str"):
        md.load_math(fake_archive, "original", "train")


def test_malformed_jsonl_line(fake_jsonl):
    path = fake_jsonl / "train.jsonl"
    path.write_text(path.read_text() + '{"unique_id": "train/x/1.json", "problem": "p"}\n')
    with pytest.raises(records.DataFormatError, match=r"train.jsonl:4: missing required field"):
        md.load_math(fake_jsonl, "paper", "train")
    problems, report = md.load_math(fake_jsonl, "paper", "train", on_error="skip")
    assert len(problems) == 4 and report.num_skipped == 1


def test_missing_math500_id(fake_jsonl):
    (fake_jsonl / "math500_ids.txt").write_text("test/algebra/999.json\n")
    with pytest.raises(ValueError, match="not among the test problems"):
        md.load_math(fake_jsonl, "paper", "test")


def test_unknown_config(fake_jsonl):
    with pytest.raises(ValueError, match="split_config"):
        md.load_math(fake_jsonl, "mine", "train")
    with pytest.raises(ValueError, match="split must be"):
        md.load_math(fake_jsonl, "paper", "dev")


def test_math_data_dir_resolution(fake_jsonl, monkeypatch, tmp_path):
    assert md.math_data_dir(str(fake_jsonl)) == fake_jsonl
    monkeypatch.setenv(md.ENV_MATH_DIR, str(fake_jsonl))
    assert md.math_data_dir() == fake_jsonl


def test_real_paper_split(real_math_dir):
    """The paper split: 12,000 / 500, disjoint, exactly the MATH500 ids; answers extracted."""
    train, report = md.load_math(real_math_dir, "paper", "train")
    test, _ = md.load_math(real_math_dir, "paper", "test")
    ids500 = md.read_math500_ids(real_math_dir / "math500_ids.txt")
    assert len(train) == 12000 and len(test) == 500 and report.num_skipped == 0
    train_ids = {p.problem_id for p in train}
    assert len(train_ids) == 12000
    assert [p.problem_id for p in test] == ids500
    assert not train_ids & set(ids500)
    # Every problem with a non-empty box gets its answer; the ones without are counted.
    no_answer = [p.problem_id for p in train + test if not p.answer]
    assert all(r"\boxed{}" in p.solution or "boxed" not in p.solution
               for p in train + test if not p.answer)
    assert len(no_answer) == 2, no_answer  # two number-theory solutions have an empty \boxed{}
    assert all(p.answer for p in test)


def test_real_original_split(real_math_dir):
    assert len(md.load_math(real_math_dir, "original", "train")[0]) == 7500
    assert len(md.load_math(real_math_dir, "original", "test")[0]) == 5000
