"""Checks every setting of an entry point before any heavy work or file creation.

Each entry point calls its `check_*` function first: all bad settings are gathered and raised
as one ConfigError (one `error:` line, exit status 2), so nothing is loaded, created or
recorded (e.g. in infer's `.progress`) for a run that cannot be right.

Example:
    >>> check_infer(num_samples=0, max_new_tokens=0, greedy=True, batch_size=-8)
    Traceback (most recent call last):
    ...
    mathft_jax.errors.ConfigError: infer.max_new_tokens must be >= 1, got 0; \
infer.batch_size must be >= 1, got -8

The module imports only the standard library, etils and `errors`, so `python -m mathft_jax.train`
checks its settings before TensorFlow and Orbax load.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional

from etils import epath

from mathft_jax import file_paths
from mathft_jax.errors import ConfigError


class Checks:
    """Collects the problems of one entry point's settings; `raise_any` reports them all."""

    def __init__(self, owner: str):
        self.owner = owner
        self.problems: list[str] = []

    def that(self, ok: bool, message: str) -> "Checks":
        if not ok:
            self.problems.append(message)
        return self

    def at_least(self, minimum: int, *, optional: bool = False, **values: Any) -> "Checks":
        """Each value must be an int >= minimum (or None when `optional`)."""
        for name, value in values.items():
            if value is None and optional:
                continue
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
            self.that(ok, f"{self.owner}.{name} must be {'None or ' if optional else ''}"
                          f">= {minimum}, got {value!r}")
        return self

    def each_at_least(self, minimum: int, **sequences: Iterable[Any]) -> "Checks":
        for name, values in sequences.items():
            values = tuple(values)
            ok = bool(values) and all(isinstance(v, int) and not isinstance(v, bool)
                                      and v >= minimum for v in values)
            self.that(ok, f"{self.owner}.{name} must be a non-empty list of ints >= {minimum}, "
                          f"got {values!r}")
        return self

    def existing(self, optional: bool = False, **paths: Optional[str]) -> "Checks":
        """Each path must exist (a file or a folder to read)."""
        for name, path in paths.items():
            if path is None and optional:
                continue
            self.that(path is not None and file_paths.as_path(path).exists(),
                      f"{self.owner}.{name} {path}: no such file or directory")
        return self

    def creatable_dir(self, **paths: str) -> "Checks":
        """Each path must be a folder or creatable as one (checked without creating it)."""
        for name, path in paths.items():
            self._creatable(name, file_paths.as_path(path), True)
        return self

    def creatable_file(self, **paths: str) -> "Checks":
        for name, path in paths.items():
            self._creatable(name, file_paths.as_path(path), False)
        return self

    def _creatable(self, name: str, path: epath.Path, is_dir: bool) -> None:
        label = f"{self.owner}.{name} {path}"
        if path.exists():
            if is_dir != path.is_dir():
                self.problems.append(f"{label}: is a {'folder' if path.is_dir() else 'file'}, "
                                     f"expected a {'folder' if is_dir else 'file'}")
            return
        if not file_paths.is_local(path):
            return  # object stores have no folders to own; the first write finds the bucket
        parent = path.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            self.problems.append(f"{label}: {parent} is a file, not a folder")
        elif not os.access(parent, os.W_OK | os.X_OK):
            self.problems.append(f"{label}: {parent} is not writable")

    def raise_any(self) -> None:
        if self.problems:
            raise ConfigError("; ".join(self.problems))


def check_infer(*, greedy: bool, num_samples: int = 0, max_new_tokens: int = 1,
                batch_size: int = 1, chunk_problems: Optional[int] = None,
                max_problems: Optional[int] = None, max_chunks: Optional[int] = None,
                max_prompt_length: Optional[int] = None, prepend_bos: bool = False,
                bos_id: Optional[int] = None, sampling: Any = None,
                output_file: Optional[str] = None, checkpoint: Optional[str] = None) -> None:
    """The settings of `mathft_jax.infer.InferSettings` (see its docstring)."""
    from mathft_jax.decoding.sampling import Sampling  # light: no JAX at import
    c = Checks("infer")
    c.at_least(0, num_samples=num_samples).at_least(1, max_new_tokens=max_new_tokens,
                                                     batch_size=batch_size)
    c.at_least(1, optional=True, chunk_problems=chunk_problems, max_problems=max_problems,
               max_chunks=max_chunks)
    c.at_least(1 + bool(prepend_bos), optional=True, max_prompt_length=max_prompt_length)
    c.at_least(0, optional=True, bos_id=bos_id)
    c.that(greedy or not isinstance(num_samples, int) or num_samples != 0,
           "nothing to decode: set infer.greedy = True or infer.num_samples > 0")
    c.that(not num_samples or isinstance(sampling, Sampling),
           f"infer.sampling must be a Sampling(...) rule, got {sampling!r}")
    if output_file is not None:
        c.creatable_file(output_file=output_file)
    if checkpoint and checkpoint != "random_init" and not checkpoint.startswith("pretrained:"):
        c.existing(checkpoint=checkpoint)
    c.raise_any()


def check_train(*, train_steps: int, batch_size: int, sequence_length: int,
                num_microbatches: int = 1, inputs_length: Optional[int] = None,
                log_every: int = 1, eval_every: int = 0, eval_steps: Optional[int] = None,
                checkpoint_every: int = 1, keep_checkpoints: int = 0,
                init_checkpoint: Optional[str] = None, model_dir: Optional[str] = None
                ) -> None:
    """The settings of `mathft_jax.training.trainer.train_loop` (see its docstring)."""
    c = Checks("train")
    c.at_least(0, train_steps=train_steps, eval_every=eval_every,
               keep_checkpoints=keep_checkpoints)
    c.at_least(1, batch_size=batch_size, num_microbatches=num_microbatches,
               log_every=log_every, checkpoint_every=checkpoint_every)
    c.at_least(2, sequence_length=sequence_length)
    c.at_least(1, optional=True, eval_steps=eval_steps, inputs_length=inputs_length)
    if isinstance(inputs_length, int) and isinstance(sequence_length, int):
        c.that(inputs_length < sequence_length, f"train.inputs_length ({inputs_length}) must "
                                                f"be < sequence_length ({sequence_length})")
    if not (init_checkpoint or "").startswith("pretrained:"):  # loaded by params_source
        c.existing(optional=True, init_checkpoint=init_checkpoint)
    if model_dir is not None:
        c.creatable_dir(model_dir=model_dir)
    c.raise_any()


def check_evaluate(*, candidates_file: Optional[str], output_dir: str,
                   scores_file: Optional[str], gold_file: Optional[str], pass_ks, maj_ks,
                   rerank_k: int, num_bootstrap: int, curve_repeats: int,
                   graded_file: Optional[str] = None) -> None:
    """The settings of `mathft_jax.evaluate.evaluate` (see its docstring)."""
    c = Checks("evaluate")
    c.each_at_least(1, pass_ks=pass_ks, maj_ks=maj_ks)
    c.at_least(1, rerank_k=rerank_k, num_bootstrap=num_bootstrap, curve_repeats=curve_repeats)
    if graded_file is None:
        c.existing(candidates_file=candidates_file)
    c.existing(optional=True, scores_file=scores_file, gold_file=gold_file,
               graded_file=graded_file)
    c.creatable_dir(output_dir=output_dir)
    c.raise_any()
