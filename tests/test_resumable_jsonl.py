"""ResumableJsonl's object-store mode (no append: the object is rewritten per chunk), run on
a local folder with `is_local` patched to False; tests/test_gcs.py runs it on a GCS emulator."""

from __future__ import annotations

import json

import pytest

from mathft_jax import resumable_jsonl
from mathft_jax.resumable_jsonl import ResumableJsonl, ResumeError


@pytest.fixture
def object_store(monkeypatch):
    monkeypatch.setattr(resumable_jsonl, "is_local", lambda path: False)


def _rows(start: int, n: int) -> list[dict]:
    return [{"i": i} for i in range(start, start + n)]


def _write(path, chunks, settings=None) -> ResumableJsonl:
    out = ResumableJsonl.open(str(path), settings or {"seed": 0}, overwrite=False)
    for start, n in chunks:
        out.append(_rows(start, n), problems=1)
    return out


def test_rewrite_per_chunk_gives_the_appended_file(tmp_path, object_store):
    out = _write(tmp_path / "c.jsonl", [(0, 2), (2, 3)])
    out.mark_complete()
    lines = (tmp_path / "c.jsonl").read_text().splitlines()
    assert [json.loads(line)["i"] for line in lines] == list(range(5))
    assert out.progress["bytes"] == (tmp_path / "c.jsonl").stat().st_size
    assert out.problems_done == 2 and out.complete


def test_resume_cuts_an_unrecorded_tail_and_continues(tmp_path, object_store):
    path = tmp_path / "c.jsonl"
    _write(path, [(0, 2)])
    finished = path.read_bytes()
    path.write_bytes(finished + b'{"i": 99}\n')  # a chunk uploaded, progress not replaced
    out = _write(path, [(2, 2)])
    assert path.read_bytes() == finished + b'{"i": 2}\n{"i": 3}\n'
    assert out.problems_done == 2 and out.progress["rows"] == 4


def test_a_shorter_object_than_recorded_is_refused(tmp_path, object_store):
    path = tmp_path / "c.jsonl"
    _write(path, [(0, 2)])
    path.write_bytes(path.read_bytes()[:5])
    with pytest.raises(ResumeError, match="has 5 bytes but .* records"):
        ResumableJsonl.open(str(path), {"seed": 0}, overwrite=False)


def test_changed_settings_are_refused(tmp_path, object_store):
    _write(tmp_path / "c.jsonl", [(0, 1)])
    with pytest.raises(ResumeError, match="seed: 0 -> 1"):
        ResumableJsonl.open(str(tmp_path / "c.jsonl"), {"seed": 1}, overwrite=False)
