"""Finding a registered SeqIO task or mixture by name.

The repository's `tasks` package (the SeqIO registrations: MATH, synthetic, custom files) is
imported on the first lookup when it exists, so a name from a gin file resolves without the
caller importing it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util

import seqio

from mathft_jax.errors import ConfigError

_TASKS_IMPORTED = False


def import_task_registrations() -> None:
    """Imports the repository's `tasks` package (SeqIO registrations) when it exists."""
    global _TASKS_IMPORTED
    if _TASKS_IMPORTED:
        return
    _TASKS_IMPORTED = True
    if importlib.util.find_spec("tasks") is not None:
        importlib.import_module("tasks")


def get_task(name: str):
    """The registered SeqIO task or mixture `name`, or a ConfigError listing close names."""
    import_task_registrations()
    try:
        return seqio.get_mixture_or_task(name)
    except ValueError:
        known = sorted(set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names()))
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
        hint = (f"; did you mean {', '.join(close)}?" if close else
                f"; registered: {', '.join(known[:20])}{' ...' if len(known) > 20 else ''}"
                if known else "; no tasks are registered (is the `tasks` package importable?)")
        raise ConfigError(f"unknown SeqIO task or mixture {name!r}{hint}") from None


def task_vocab_size(name: str) -> int:
    """Largest vocabulary size over the task's features (the model must cover it)."""
    task = get_task(name)
    return max(f.vocabulary.vocab_size for f in task.output_features.values())
