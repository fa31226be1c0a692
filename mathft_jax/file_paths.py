"""One home for path handling: every file the library reads or writes is an `epath.Path`.

`etils.epath` (the path API Orbax uses) gives local paths and object-store URIs (`gs://`,
`s3://`, ...) one pathlib-like interface, so a `gs://` MODEL_DIR or candidates file works
wherever a local one does. `pathlib.Path("gs://b/run").absolute()` would silently become
`<cwd>/gs:/b/run`; `as_path` keeps URIs as they are and makes local paths absolute.

Object stores differ from a local disk in two ways the writers care about:

* No atomic rename. An object is written whole or not at all (a GCS upload becomes visible
  only when it is finalised), so `atomic_files` writes the final object once instead of
  renaming a temporary one; readers still never see half a file.
* No append. `resumable_jsonl` rewrites the whole object on every flush (one upload of the
  finished part plus the new chunk) and records progress in a second object afterwards.

Backends: with TensorFlow installed epath sends `gs://` through `tf.io.gfile`; setting
`EPATH_USE_TF=0` sends it through fsspec/gcsfs instead (the `gcs` extra), which is also the
client that honours `STORAGE_EMULATOR_HOST` (see BUILD.md, "Cloud storage").

Example:
    as_path("runs/x")            # PosixGPath('/home/me/runs/x')
    as_path("gs://b/runs/x")     # PosixGPath('gs://b/runs/x')
    is_local("gs://b/runs/x")    # False
"""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import Union

from etils import epath

PathLike = Union[str, os.PathLike]


def is_local(path: PathLike) -> bool:
    """True for a path on the local file system (no `scheme://` prefix)."""
    return "://" not in os.fspath(path)


def as_path(path: PathLike) -> epath.Path:
    """An `epath.Path`: local paths made absolute, URIs (`gs://...`) kept as they are."""
    if is_local(path):
        return epath.Path(os.path.abspath(os.fspath(path)))
    return epath.Path(path)


def remove(path: PathLike) -> None:
    """Deletes the file or the folder tree at `path` (a link is deleted, not followed).

    On an object store a "folder" is every object under its prefix: all are deleted.
    """
    if is_local(path):
        local = os.path.abspath(os.fspath(path))
        if os.path.isdir(local) and not os.path.islink(local):
            shutil.rmtree(local)
        else:
            os.unlink(local)
        return
    target = as_path(path)
    if target.is_dir():
        target.rmtree()
    else:
        target.unlink()


def move_tree(src: PathLike, dst: PathLike) -> None:
    """Moves the folder `src` to `dst` (whose parent may not exist yet).

    Locally `shutil.move` (a rename on one file system). An object store has no rename and no
    real folders, so every object under `src` is copied (streamed) to the same place under
    `dst`, then `src` is deleted: a reader in between sees both copies, never a partial `src`.
    """
    src, dst = as_path(src), as_path(dst)
    if is_local(src) and is_local(dst):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(os.fspath(src), os.fspath(dst))
        return
    top = None  # walk's own spelling of `src` (fsspec drops the "gs://")
    for folder, _, files in src.walk():  # epath refuses rglob on gs://
        top = os.fspath(folder) if top is None else top
        for name in files:
            relative = posixpath.relpath(posixpath.join(os.fspath(folder), name), top)
            (src / relative).copy(dst / relative)
    src.rmtree()
