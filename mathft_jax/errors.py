"""User-facing failures: the two error kinds and how one is told (`classify`).

Library modules raise `ConfigError` or `EnvironmentFailure` (or subclasses naming the stage:
`InferError`, `CheckpointError`, ...); the entry points' `gin_utils.run_main` prints what
`classify` makes of them as one `error: ...` line and exits with its status. They live here,
below every other module and without gin, so that raising one needs neither gin nor the
command-line machinery: the grader and the data readers import without gin.

Exit status: 0 success; 2 (`EXIT_CONFIG`) bad input or configuration; 3 (`EXIT_ENVIRONMENT`)
the machine failed the run, e.g. disk full or over quota. Anything else is a bug.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Iterator, Optional

EXIT_CONFIG = 2
EXIT_ENVIRONMENT = 3
# OSErrors that mean the machine, not the user's input, failed the run.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}
# The same failures as TensorStore (Orbax's writer) words them.
_ENVIRONMENT_TEXTS = ("No space left on device", "RESOURCE_EXHAUSTED", "Disk quota exceeded",
                      "File too large")


class ConfigError(Exception):
    """A user-facing configuration or input problem; printed as one line, exit status 2."""


class EnvironmentFailure(Exception):
    """The environment failed the run (disk full, quota); printed as one line, exit status 3."""


def causes(exc: Optional[BaseException]) -> Iterator[BaseException]:
    """`exc`, then what caused it (`raise ... from`, or the exception being handled)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def classify(exc: BaseException) -> Optional[tuple[int, str]]:
    """(exit status, one-line message) for a user-facing failure, None for a bug.

    Looks through the exception's causes, so a ConfigError or a full disk raised inside a
    library (tf.data, Orbax's writer threads) is still recognised.

    Example:
        >>> classify(OSError(errno.ENOSPC, "No space left on device", "/runs/x/ckpt"))
        (3, '/runs/x/ckpt: No space left on device')
    """
    for e in causes(exc):
        if isinstance(e, EnvironmentFailure):
            return EXIT_ENVIRONMENT, _one_line(e)
        if isinstance(e, ConfigError):
            return EXIT_CONFIG, _one_line(e)
    for e in causes(exc):
        if isinstance(e, OSError) and e.errno is not None:
            where = f"{e.filename}: " if e.filename else ""
            status = EXIT_ENVIRONMENT if e.errno in _ENVIRONMENT_ERRNOS else EXIT_CONFIG
            return status, f"{where}{e.strerror or os.strerror(e.errno)}"
        text = str(e)
        if any(t in text for t in _ENVIRONMENT_TEXTS):
            line = next(ln for ln in text.splitlines() if any(t in ln for t in _ENVIRONMENT_TEXTS))
            return EXIT_ENVIRONMENT, line.strip()
    return None


# What gin appends to an exception raised inside a configurable it called.
_GIN_CALL_CONTEXT = re.compile(r"\s*In call to configurable '[^']*' \([^()]*\)"
                               r"(?: in scope '[^']*')?")


def _one_line(e: BaseException) -> str:
    return " ".join(_GIN_CALL_CONTEXT.sub("", str(e)).split()) or type(e).__name__
