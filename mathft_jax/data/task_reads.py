"""What a task reads besides its name: its options and the identities of its data files.

A recipe stage's fingerprint (`recipe.runner.fingerprint`) must change when anything its task
reads changes, not only the task's name: the options of the synthetic and MATH tasks
(`task_options.current()`, which an entry point builds from gin: `tasks.synthetic_task_options
.levels`, `tasks.math_task_options.split_config`, ...), a custom task's file paths and field
names, the files themselves, and the options of the task's vocabulary (those set away from
their defaults, and a vocabulary file's identity). A task says what it reads when it is registered
(`task_factory.register_records_task(..., reads=fn)`, `fn() -> {"options": {...}, "files":
[path, ...]}`); `task_identity(name)` turns that into JSON, a file into its size and
modification time (a folder into a digest of every file's relative path, size and time):

    >>> register_reads("doc_task", lambda: {"options": {"levels": (1, 2)}})
    >>> task_identity("doc_task")
    {'task': 'doc_task', 'options': {'levels': [1, 2]}}

A mixture's identity holds its tasks' with their rates. A task registered without `reads`
(a test's toy task) is identified by its name and vocabulary alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Callable, Mapping

from mathft_jax import file_paths
from mathft_jax.data import task_options

ReadsFn = Callable[[], Mapping[str, Any]]
_READS: dict[str, ReadsFn] = {}


def register_reads(name: str, reads: ReadsFn) -> None:
    """Records what task `name` reads (replacing what was recorded for that name)."""
    _READS[name] = reads


def task_identity(name: str) -> dict[str, Any]:
    """JSON-able identity of everything task (or mixture) `name` reads; see the module."""
    import seqio
    if name in seqio.MixtureRegistry.names():
        mixture = seqio.get_mixture_or_task(name)
        return {"mixture": name, "tasks": {task.name: [mixture.get_rate(task),
                                                       task_identity(task.name)]
                                           for task in mixture.tasks}}
    out: dict[str, Any] = {"task": name}
    reads = _READS.get(name)
    if reads is not None:
        found = dict(reads())
        if found.get("options") is not None:
            out["options"] = _jsonable(found["options"])
        files = [f for f in found.get("files") or () if f]
        if files:
            out["files"] = {os.fspath(f): file_identity(f) for f in files}
    vocabulary = _vocabulary_options(name)
    if vocabulary:
        out["vocabulary"] = vocabulary
    return out


def file_identity(path: str | os.PathLike) -> Any:
    """{"size", "mtime_ns"} of a file; for a folder {"files", "digest"} over each file's
    relative path, size and time (sorted); "missing" when there is nothing at `path`."""
    p = file_paths.as_path(path)
    try:
        if p.is_dir():
            return _folder_identity(p)
        if file_paths.is_local(p):
            stat = os.stat(p)
            return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        stat = p.stat()  # an object store's: length and mtime (seconds)
        return {"size": int(stat.length), "mtime_ns": int(float(stat.mtime) * 1e9)}
    except (FileNotFoundError, NotADirectoryError):
        return "missing"


def _folder_identity(folder) -> dict[str, Any]:
    digest, count = hashlib.sha256(), 0
    if file_paths.is_local(folder):
        for root, dirs, names in os.walk(os.fspath(folder)):
            dirs.sort()
            for n in sorted(names):
                full = os.path.join(root, n)
                stat = os.stat(full)
                rel = os.path.relpath(full, os.fspath(folder))
                digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
                count += 1
    else:
        for f in sorted(folder.rglob("*"), key=str):
            if f.is_file():
                identity = file_identity(f)
                digest.update(f"{f.relative_to(folder)}\0{json.dumps(identity)}\n".encode())
                count += 1
    return {"files": count, "digest": digest.hexdigest()[:16]}


def _vocabulary_options(name: str) -> dict[str, Any]:
    """The options of the vocabulary task `name` reads, when it is one of `task_options`'
    (`task_factory.MATH_VOCABULARY`, `SYNTHETIC_VOCABULARY`): its name, the fields set away
    from their defaults, and the identity of a vocabulary file it names."""
    import seqio
    try:
        task = seqio.TaskRegistry.get(name)
    except (ValueError, KeyError):
        return {}
    # A pair or step task has no "targets"; all features of a task share one vocabulary.
    features = task.output_features
    feature = features.get("targets") or next(iter(features.values()), None)
    if feature is None:
        return {}
    vocabulary = getattr(feature.vocabulary, "_name", None)
    if vocabulary not in task_options.VOCABULARIES:
        return {}
    changed = task_options.current().vocabulary_identity(vocabulary)
    out = {"configurable": vocabulary, **_jsonable(changed)}
    if changed.get("path"):
        out["path_identity"] = file_identity(changed["path"])
    return out


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=repr))
