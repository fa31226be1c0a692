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
from typing import Iterable, Mapping

from mathft_jax.atomic_files import atomic_write_json
from mathft_jax.formats import to_jsonl
from mathft_jax.gin_utils import ConfigError

PROGRESS_VERSION = 1


class ResumeError(ConfigError):
    """The output exists but cannot be continued (one-line message)."""


class ResumableJsonl:
    """See the module docstring; create with `ResumableJsonl.open`."""

    def __init__(self, path: str, progress: dict):
        self.path = path
        self.progress = progress

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
        progress_file = path + ".progress"
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if overwrite or (not os.path.exists(progress_file) and not os.path.exists(path)):
            fresh = {"version": PROGRESS_VERSION, "problems_done": 0, "rows": 0, "bytes": 0,
                     "complete": False, "settings": dict(settings)}
            with open(path, "wb"):
                pass
            out = cls(path, fresh)
            out._save()
            return out
        if not os.path.exists(progress_file):
            raise ResumeError(f"{path} exists but has no {progress_file}: it was not written "
                              "by this tool or the marker was removed; delete it or set "
                              "overwrite = True")
        progress = _read_progress(progress_file)
        _check_settings(path, progress.get("settings", {}), settings)
        _truncate_to(path, progress["bytes"], progress_file)
        return cls(path, progress)

    def append(self, rows: Iterable[Mapping], problems: int) -> None:
        """Appends `rows` (the complete output of `problems` more units), durably."""
        rows = list(rows)
        data = to_jsonl(rows)
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self.progress = dict(self.progress,
                             problems_done=self.progress["problems_done"] + problems,
                             rows=self.progress["rows"] + len(rows),
                             bytes=self.progress["bytes"] + len(data))
        self._save()

    def mark_complete(self) -> None:
        self.progress = dict(self.progress, complete=True)
        self._save()

    def _save(self) -> None:
        atomic_write_json(self.progress_file, self.progress, indent=1)


def _read_progress(progress_file: str) -> dict:
    with open(progress_file) as f:
        try:
            progress = json.load(f)
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


def _truncate_to(path: str, finished: int, progress_file: str) -> None:
    size = os.path.getsize(path) if os.path.exists(path) else -1
    if size < finished:
        raise ResumeError(f"{path} has {size} bytes but {progress_file} records {finished} "
                          "finished bytes: the file was damaged")
    if size > finished:
        logging.warning("%s: dropping %d bytes of an unfinished chunk", path, size - finished)
        with open(path, "r+b") as f:
            f.truncate(finished)
