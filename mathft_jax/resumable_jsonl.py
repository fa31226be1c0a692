"""An append-only JSON Lines output that a killed job resumes exactly (infer, score).

Rows are appended one chunk at a time, flushed and fsync'ed; then `<file>.progress` (JSON,
replaced atomically) records the byte size of the finished part, the units (problems) done
and the run's settings:

    {"version": 1, "problems_done": 16, "rows": 1040, "bytes": 123456, "complete": false,
     "settings": {...}}

Reopening with the same settings truncates anything after `bytes` (a chunk cut by a kill) and
continues after `problems_done`; with different settings it fails and names them, unless
`overwrite`. A job that batches its chunks the same way therefore writes exactly the file of
an uninterrupted run.

Object stores (`gs://...`, see `file_paths`) cannot append to an object, so there every
`append` rewrites the whole object (the finished part, kept in memory, plus the new chunk) in
one upload, and only then replaces the progress object. A kill between the two leaves an
object longer than `bytes`, which reopening cuts back exactly as on a local disk. The cost is
re-uploading the file once per chunk: fine for candidates and scores files (megabytes).

Example:
    out = ResumableJsonl.open("c.jsonl", settings={"seed": 0}, overwrite=False)
    for chunk in chunks[out.problems_done:]:
        out.append(rows_of(chunk), problems=len(chunk))
    out.mark_complete()
"""

from __future__ import annotations

import json
import logging
import os
from typing import Iterable, Mapping, Optional

from mathft_jax.atomic_files import atomic_write_json
from mathft_jax.file_paths import as_path, is_local
from mathft_jax.formats import to_jsonl
from mathft_jax.errors import ConfigError

PROGRESS_VERSION = 1


class ResumeError(ConfigError):
    """The output exists but cannot be continued (one-line message)."""


class ResumableJsonl:
    """See the module docstring; create with `ResumableJsonl.open`."""

    def __init__(self, path: str, progress: dict, finished: bytes = b""):
        self.path = path
        self.progress = progress
        # Object stores only: the finished part, rewritten with each append.
        self._finished = None if is_local(path) else finished

    @property
    def progress_file(self) -> str:
        return self.path + ".progress"

    @property
    def problems_done(self) -> int:
        return self.progress["problems_done"]

    @property
    def complete(self) -> bool:
        return self.progress["complete"]

    @classmethod
    def open(cls, path: str, settings: Mapping, overwrite: bool) -> "ResumableJsonl":
        """Starts `path` afresh, or continues it after truncating an unfinished tail."""
        path = os.fspath(path)
        progress_file = path + ".progress"
        as_path(path).parent.mkdir(parents=True, exist_ok=True)
        if overwrite or (not as_path(progress_file).exists() and not as_path(path).exists()):
            fresh = {"version": PROGRESS_VERSION, "problems_done": 0, "rows": 0, "bytes": 0,
                     "complete": False, "settings": dict(settings)}
            as_path(path).write_bytes(b"")
            out = cls(path, fresh)
            out._save()
            return out
        if not as_path(progress_file).exists():
            raise ResumeError(f"{path} exists but has no {progress_file}: it was not written "
                              "by this tool or the marker was removed; delete it or set "
                              "overwrite = True")
        progress = _read_progress(progress_file)
        _check_settings(path, progress.get("settings", {}), settings)
        if is_local(path):
            _truncate_to(path, progress["bytes"], progress_file)
            return cls(path, progress)
        return cls(path, progress, _finished_part(path, progress["bytes"], progress_file))

    def append(self, rows: Iterable[Mapping], problems: int) -> None:
        """Appends `rows` (the complete output of `problems` more units), durably."""
        rows = list(rows)
        data = to_jsonl(rows)
        if self._finished is None:
            with open(self.path, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        else:
            self._finished += data
            as_path(self.path).write_bytes(self._finished)
        self.progress = dict(self.progress,
                             problems_done=self.progress["problems_done"] + problems,
                             rows=self.progress["rows"] + len(rows),
                             bytes=self.progress["bytes"] + len(data))
        self._save()

    @classmethod
    def open_on_primary(cls, path: str, settings: Mapping, overwrite: bool
                        ) -> tuple[Optional["ResumableJsonl"], int]:
        """Multi-host `open`: the primary host's output (None on the others) and, on every
        host, the problems already done.

        A primary that cannot open the file (other settings, damage) raises its own error; the
        other hosts learn of it through the broadcast and raise `ResumeError` instead of
        waiting for rows forever. With one process this is `open` plus its `problems_done`.
        """
        from mathft_jax import distributed  # imports JAX: only where a job runs on devices
        out, done = None, -1
        try:
            if distributed.is_primary_host():
                out = cls.open(path, settings, overwrite)
                done = out.problems_done
        finally:
            done = distributed.broadcast_int(done)
        if done < 0:
            raise ResumeError(f"the primary host could not open {path} (see its error)")
        return out, done

    def mark_complete(self) -> None:
        self.progress = dict(self.progress, complete=True)
        self._save()

    def _save(self) -> None:
        atomic_write_json(self.progress_file, self.progress, indent=1)


def _read_progress(progress_file: str) -> dict:
    try:
        progress = json.loads(as_path(progress_file).read_text())
    except json.JSONDecodeError as e:
        raise ResumeError(f"{progress_file}: not valid JSON ({e})") from None
    if progress.get("version") != PROGRESS_VERSION:
        raise ResumeError(f"{progress_file}: unsupported version {progress.get('version')!r}")
    return progress


def _check_settings(path: str, old: Mapping, new: Mapping) -> None:
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        raise ResumeError(
            f"{path} was written with different settings ("
            + "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
            + "); delete it or set overwrite = True")


def _check_size(path: str, size: int, finished: int, progress_file: str) -> None:
    if size < finished:
        raise ResumeError(f"{path} has {size} bytes but {progress_file} records {finished} "
                          "finished bytes: the file was damaged")
    if size > finished:
        logging.warning("%s: dropping %d bytes of an unfinished chunk", path, size - finished)


def _truncate_to(path: str, finished: int, progress_file: str) -> None:
    size = os.path.getsize(path) if os.path.exists(path) else -1
    _check_size(path, size, finished, progress_file)
    if size > finished:
        with open(path, "r+b") as f:
            f.truncate(finished)


def _finished_part(path: str, finished: int, progress_file: str) -> bytes:
    """An object's first `finished` bytes; the object is rewritten when it is longer."""
    data = as_path(path).read_bytes() if as_path(path).exists() else None
    _check_size(path, -1 if data is None else len(data), finished, progress_file)
    if len(data) > finished:
        data = data[:finished]
        as_path(path).write_bytes(data)
    return data
