"""Atomic file writes: readers (and resumed jobs) see the old file or the complete new one.

On a local disk: a temporary file in the target's folder, then `os.replace`, so even a killed
writer never leaves half a file. On an object store (`gs://...`, see `file_paths`), where
rename is a copy plus a delete, the content is prepared in a local temporary file and then
uploaded as the final object in one write: an object becomes visible only once its upload is
complete, which gives readers the same guarantee.

Example:
    atomic_write_json("runs/x/report.json", {"version": 1, "accuracy": 0.5})
    atomic_write("gs://bucket/cache/params.safetensors", lambda tmp: save_file(tensors, tmp))
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from etils import epath

from mathft_jax.file_paths import PathLike, as_path, is_local


def atomic_write(path: PathLike, write: Callable[[str], None]) -> epath.Path:
    """Calls `write(tmp_path)` with a local temporary file, then publishes it at `path`.

    The folder is created if needed; on any error the temporary file is removed and the error
    re-raised. Local files get mode 0644 (mkstemp's 0600 would hide shared caches from other
    users).
    """
    target = as_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    local_dir = os.fspath(target.parent) if is_local(target) else None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=local_dir)
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        write(tmp)
        if local_dir is not None:
            os.replace(tmp, target)
        else:  # one upload of the final object (see the module docstring)
            target.write_bytes(Path(tmp).read_bytes())
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def atomic_write_bytes(path: PathLike, data: bytes) -> epath.Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: PathLike, text: str) -> epath.Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_json(path: PathLike, obj: Any, indent: int | None = 2) -> epath.Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")
