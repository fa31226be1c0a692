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

