"""One run per MODEL_DIR: an exclusive lock that a killed run leaves stale, never stuck.

The lock is `fcntl.flock` on `MODEL_DIR/run.lock`. The kernel drops it when its process ends,
however it ends (exit, SIGTERM, `kill -9`, a crash), so a dead run never blocks the next one.
The file's content says who holds it:

    {"pid": 1234, "host": "tpu-vm-0", "started": "2026-11-30T22:40:01Z"}

A clean release empties the file. A new run that gets the lock and still finds content knows
the previous owner died without releasing (killed): it says so and takes the run over; only
then does Orbax clean up that owner's unfinished `*.orbax-checkpoint-tmp*` folders, so a live
run's temporary folders are never deleted under it.

Guarantees by storage:
  * local disk: exclusive between all processes of the machine.
  * NFS (v4, or v3 with lockd): exclusive between machines, as far as the server honours locks.
  * a bucket mounted with gcsfuse or similar (object stores): flock is local to each machine,
    so two runs on *different* machines writing the same bucket folder are NOT excluded; run
    one job per MODEL_DIR there (what one multi-host job does: only process 0 takes the lock).
  * an object-store URI (`gs://...`, `file_paths`): there is no lock at all, only the owner
    record. `run.lock` is written as one object; a new run that finds content cannot tell a
    live owner from a dead one, so it warns naming the owner and takes the run over. The same
    rule as gcsfuse applies: one job per MODEL_DIR.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import socket
import sys
from typing import Optional

from mathft_jax import file_paths
from mathft_jax.gin_utils import ConfigError

LOCK_FILE = "run.lock"


class RunInUseError(ConfigError):
    """Another live process holds the run folder."""


class RunLock:
    """Holds `directory/run.lock` until `release()` (or the process ends).

    Example:
        lock = RunLock("runs/tiny_sft")   # raises RunInUseError if another run is live
        ...
        lock.release()
    """

    def __init__(self, directory: str | os.PathLike):
        self.path = file_paths.as_path(directory) / LOCK_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stale_owner: Optional[dict] = None
        self._fd: Optional[int] = None
        self._remote = not file_paths.is_local(self.path)
        if self._remote:
            self._take_over(_read(self.path))
            self.path.write_text(json.dumps(_owner()))
            return
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._fd)
            self._fd = None
            if e.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            raise RunInUseError(f"{self.path.parent} is in use by another run "
                                f"({_describe(_read(self.path))}): wait for it to finish, "
                                f"stop it, or choose another MODEL_DIR") from None
        self._take_over(_read(self.path))
        _write(self._fd, _owner())

    def _take_over(self, owner: Optional[dict]) -> None:
        self.stale_owner = owner
        if owner is not None:
            state = ("it may still be running (an object store has no locks)" if self._remote
                     else "it is gone")
            print(f"warning: {self.path} was left by a run that did not finish "
                  f"({_describe(owner)}); {state}, taking the run over",
                  file=sys.stderr, flush=True)

    def release(self) -> None:
        """Empties the file (a clean end) and unlocks; safe to call twice."""
        if self._remote:
            self.path.write_text("")
            self._remote = False
            return
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


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
