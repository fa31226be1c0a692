import json

import pytest

from mathft_jax.data import records

REQ = {"problem": str, "solution": str}


def _write(path, lines):
    path.write_bytes(b"".join(l if isinstance(l, bytes) else l.encode() for l in lines))
    return path


BAD_LINES = [
    ("{not json\n", "bad JSON"),
    ('["a list"]\n', "expected a JSON object"),
    ('{"problem": "p"}\n', "missing required field 'solution'"),
    ('{"problem": 3, "solution": "s"}\n', "field 'problem' must be str, got int"),
    (b'{"problem": "\xff", "solution": "s"}\n', "not UTF-8"),
]


@pytest.mark.parametrize("bad,message", BAD_LINES)
def test_raise_names_file_and_line(tmp_path, bad, message):
    good = json.dumps({"problem": "p", "solution": "s"}) + "\n"
    path = _write(tmp_path / "x.jsonl", [good, "\n", bad, good])
    with pytest.raises(records.DataFormatError) as err:
        records.read_jsonl(path, required=REQ)
    assert str(err.value).startswith(f"{path}:3: ")
    assert message in str(err.value)
    assert err.value.line == 3


def test_skip_counts_every_bad_line(tmp_path):
    good = json.dumps({"problem": "p", "solution": "s"}) + "\n"
    path = _write(tmp_path / "x.jsonl", [good] + [b for b, _ in BAD_LINES] + [good])
    rows, report = records.read_jsonl(path, required=REQ, on_error="skip")
    assert len(rows) == 2 and report.num_read == 2
    assert report.num_skipped == len(BAD_LINES)
    assert [e.split(": ")[0] for e in report.errors] == [f"{path}:{i}" for i in range(2, 7)]
    assert "2 records read, 5 skipped" in report.summary()


def test_optional_type_checked(tmp_path):
    path = _write(tmp_path / "x.jsonl", ['{"problem": "p", "solution": "s", "answer": [1]}\n'])
    with pytest.raises(records.DataFormatError, match="field 'answer' must be str"):
        records.read_jsonl(path, required=REQ, optional={"answer": str})


def test_bad_on_error(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        records.read_jsonl(tmp_path / "x.jsonl", on_error="ignore")


def test_write_jsonl_atomic_roundtrip(tmp_path):
    path = tmp_path / "sub" / "out.jsonl"
    rows = [{"version": 1, "a": "é"}, {"version": 1, "a": "b"}]
    records.write_jsonl(path, rows)
    assert records.read_jsonl(path)[0] == rows
    assert [p.name for p in path.parent.iterdir()] == ["out.jsonl"]  # no temp file left
