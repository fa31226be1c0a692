"""One run per output: an exclusive lock that a killed run leaves stale, never stuck.

Every tool that writes a run folder or an output file holds one: the trainer
`MODEL_DIR/run.lock`, `infer` and `score` `OUTPUT_FILE.lock` beside their output,
`evaluate` `OUTPUT_DIR/evaluate.lock`, `export` `OUTPUT_DIR/export.lock` (`hold_output`), the
recipe `RUN_DIR/recipe.lock` and, while a stage runs, `RUN_DIR/<stage>/stage.lock` (`take`). A second run on the same output is
refused with the same message, naming the owner and the setting to change:

    error: runs/x/candidates.jsonl is in use by another run (pid 1234 on tpu-vm-0, started
    2026-11-30T22:40:01Z): wait for it to finish, stop it, or choose another infer.output_file

The lock is `fcntl.flock` on the lock file. The kernel drops it when its process ends,
however it ends (exit, SIGTERM, `kill -9`, a crash), so a dead run never blocks the next one.
The file's content says who holds it:

    {"pid": 1234, "host": "tpu-vm-0", "started": "2026-11-30T22:40:01Z"}

A clean release deletes the file (still holding the lock; a run that opened the file just
before sees, once it gets the lock, that the name now points elsewhere and opens it again),
and a folder that taking the lock created is removed again when it is still empty. A new run
that gets the lock and still finds content knows the previous owner died without releasing
(killed): it says so and takes the run over; only then does Orbax clean up that owner's
unfinished `*.orbax-checkpoint-tmp*` folders, so a live run's temporary folders are never
deleted under it.

Guarantees by storage:
  * local disk: exclusive between all processes of the machine.
  * NFS (v4, or v3 with lockd): exclusive between machines, as far as the server honours locks.
  * a bucket mounted with gcsfuse or similar (object stores): flock is local to each machine,
    so two runs on *different* machines writing the same bucket folder are NOT excluded; run
    one job per MODEL_DIR there (what one multi-host job does: only process 0 takes the lock).
  * an object-store URI (`gs://...`, `file_paths`): there is no lock at all, only the owner
    record. The lock file is written as one object (emptied, not deleted, at release); a new
    run that finds content cannot tell a live owner from a dead one, so it warns naming the
    owner and takes the run over. The same rule as gcsfuse applies: one job per output.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import errno
import fcntl
import functools
import json
import os
import socket
import sys
from typing import Callable, Optional, TypeVar

from mathft_jax import file_paths
from mathft_jax.errors import ConfigError

LOCK_FILE = "run.lock"
FOLDER_LOCK_FILE = "evaluate.lock"  # evaluate's, in its OUTPUT_DIR (`hold_output`)
EXPORT_LOCK_FILE = "export.lock"  # export's, in its OUTPUT_DIR
RECIPE_LOCK_FILE = "recipe.lock"  # the recipe's, in its RUN_DIR (and each seed_<k>/)
STAGE_LOCK_FILE = "stage.lock"  # a recipe stage's, in its folder while it is prepared and run


class RunInUseError(ConfigError):
    """Another live process holds the run folder."""


class RunLock:
    """Holds `directory/lock_name` until `release()` (or the process ends).

    Example:
        lock = RunLock("runs/tiny_sft")   # raises RunInUseError if another run is live
        ...
        lock.release()

    `setting` names what to change in the refusal ("choose another MODEL_DIR"), `subject`
    what is in use (default: `directory`).
    """

    def __init__(self, directory: str | os.PathLike, *, setting: str = "MODEL_DIR",
                 lock_name: str = LOCK_FILE, subject: Optional[str | os.PathLike] = None):
        folder = file_paths.as_path(directory)
        self.path = folder / lock_name
        self.subject = os.fspath(subject if subject is not None else folder)
        self.setting = setting
        self.stale_owner: Optional[dict] = None
        self._fd: Optional[int] = None
        self._remote = not file_paths.is_local(self.path)
        self._created = [] if self._remote else _missing_folders(folder)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._remote:
            self._take_over(_read(self.path))
            self.path.write_text(json.dumps(_owner()))
            return
        try:
            self._fd = self._lock_local()
        except BaseException:
            self._remove_created()
            raise
        self._take_over(_read(self.path))
        _write(self._fd, _owner())

    def _lock_local(self) -> int:
        """The locked descriptor of the file now at `self.path` (reopened when a releasing
        owner deleted the file between our open and our lock)."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                    raise
                raise RunInUseError(f"{self.subject} is in use by another run "
                                    f"({_describe(_read(self.path))}): wait for it to finish, "
                                    f"stop it, or choose another {self.setting}") from None
            try:
                now = os.stat(self.path)
            except FileNotFoundError:
                now = None
            held = os.fstat(fd)
            if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
                return fd
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _take_over(self, owner: Optional[dict]) -> None:
        self.stale_owner = owner
        if owner is not None:
            state = ("it may still be running (an object store has no locks)" if self._remote
                     else "it is gone")
            print(f"warning: {self.path} was left by a run that did not finish "
                  f"({_describe(owner)}); {state}, taking the run over",
                  file=sys.stderr, flush=True)

    def release(self) -> None:
        """Deletes the file (a clean end; an object store's is emptied) and unlocks; safe to
        call twice."""
        if self._remote:
            self.path.write_text("")
            self._remote = False
            return
        if self._fd is None:
            return
        try:
            try:
                os.unlink(self.path)
            except OSError:
                os.ftruncate(self._fd, 0)  # cannot delete: an empty file says "released"
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            self._remove_created()

    def _remove_created(self) -> None:
        """Removes the folders this lock created, innermost first, while they are empty."""
        for folder in reversed(self._created):
            try:
                os.rmdir(folder)
            except OSError:
                break
        self._created = []


_Fn = TypeVar("_Fn", bound=Callable)
# The locks `hold_output` took during the current `releases_locks` call.
_HELD: contextvars.ContextVar[Optional[contextlib.ExitStack]] = contextvars.ContextVar(
    "mathft_run_locks", default=None)


def releases_locks(fn: _Fn) -> _Fn:
    """Decorates a tool's entry function: the locks its call takes with `hold_output` are
    released when it returns or raises. Put it above `@gin.configurable`, so that gin sees
    the function's own signature."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        with contextlib.ExitStack() as stack:
            token = _HELD.set(stack)
            try:
                return fn(*args, **kwargs)
            finally:
                _HELD.reset(token)

    return call  # type: ignore[return-value]


def hold_output(output: str | os.PathLike, setting: str, *, folder: bool = False,
                lock_name: str = FOLDER_LOCK_FILE) -> Optional[RunLock]:
    """Takes the lock of a tool's output until its `releases_locks` call ends.

    Args:
      output: an output file (locked through `OUTPUT.lock` beside it) or, with `folder`, an
        output folder (locked through `OUTPUT/<lock_name>`, `evaluate.lock` by default).
      setting: the setting that names it, for the refusal ("infer.output_file").

    Only the primary host locks (the others write nothing); when it is refused, every host
    stops. Returns the lock on the primary host, None on the others.
    """
    stack = _HELD.get()
    if stack is None:
        raise RuntimeError("hold_output needs a call decorated with @releases_locks")
    path = file_paths.as_path(output)
    lock = (take(path, setting, lock_name=lock_name) if folder else
            take(path.parent, setting, lock_name=path.name + ".lock", subject=path))
    if lock is not None:
        stack.callback(lock.release)
    return lock


def take(directory: str | os.PathLike, setting: str, *, lock_name: str,
         subject: Optional[str | os.PathLike] = None) -> Optional[RunLock]:
    """`RunLock(directory, ...)` on the primary host, None on the others; when the primary
    host is refused, every host stops (the caller releases the lock it gets)."""
    from mathft_jax import distributed  # imports JAX: only where a tool runs
    lock, ok = None, 0
    try:
        if distributed.is_primary_host():
            lock = RunLock(directory, setting=setting, lock_name=lock_name, subject=subject)
        ok = 1
    finally:
        ok = distributed.broadcast_int(ok)
    if not ok:
        if lock is not None:
            lock.release()
        raise RunInUseError(f"the primary host could not lock {subject or directory} (see "
                            f"its error)")
    return lock


def _missing_folders(folder) -> list[str]:
    """`folder` and the parents of it that do not exist yet, outermost first."""
    missing = []
    path = os.fspath(folder)
    while not os.path.exists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing[::-1]


def _owner() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ")}


def _read(path) -> Optional[dict]:
    try:
        text = path.read_text()
    except OSError:
        return None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"unreadable": text[:80]}


def _write(fd: int, owner: dict) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(owner).encode(), 0)
    os.fsync(fd)


def _describe(owner: Optional[dict]) -> str:
    if not owner or "pid" not in owner:
        return "owner unknown"
    return f"pid {owner['pid']} on {owner.get('host', '?')}, started {owner.get('started', '?')}"
