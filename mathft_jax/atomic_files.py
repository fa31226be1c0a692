"""Atomic file writes: a temporary file in the target's folder, then `os.replace`.

A reader (or a resumed job) therefore sees either the old file or the complete new one, never
a half-written file, even when the writer is killed.

Example:
    atomic_write_json("runs/x/report.json", {"version": 1, "accuracy": 0.5})
    atomic_write("cache/params.safetensors", lambda tmp: save_file(tensors, tmp))
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Calls `write(tmp_path)`, then renames the temporary file onto `path`.

    The folder is created if needed; on any error the temporary file is removed and the error
    re-raised. Files get mode 0644 (mkstemp's 0600 would hide shared caches from other users).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")
