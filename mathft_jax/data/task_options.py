"""The SeqIO tasks' options, as one explicit object: what the registered tasks read when used.

The tasks of `tasks/` and the custom JSONL tasks take their options (the MATH split
configuration and data folder, the synthetic benchmark's sizes and levels, the two
vocabularies) from `current()`, a process-wide `TaskOptions` that starts at the defaults.
Library code never reads gin for them: an entry point builds the object from the parsed gin
files (`gin_utils.task_options_from_gin`) and installs it with `set_current` before any task
is used; a Python caller (a test, a notebook) installs its own, or uses `replaced(...)`.

The options keep the gin names they always had: `MathTaskOptions` is registered as
`tasks.math_task_options`, `SyntheticTaskOptions` as `tasks.synthetic_task_options`, and the
two vocabularies' options as `mathft_jax.data.math_vocabulary` /
`mathft_jax.data.synthetic_vocabulary` (`mathft_jax.data.math_data_dir.path` is the data
folder, see `math_dataset.math_data_dir`). Registering leaves them plain: a direct call reads
no binding.

Example:
    >>> current().synthetic.levels
    (1, 2, 3, 4, 5)
    >>> with replaced(synthetic=SyntheticTaskOptions(levels=(1, 2))):
    ...     current().synthetic.levels
    (1, 2)
    >>> current().math_vocabulary
    VocabularyOptions(kind='bytes', path=None, vocab_size=512)
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import TYPE_CHECKING, Any, Iterator, Optional

import gin

from mathft_jax.data import synthetic

if TYPE_CHECKING:  # building a vocabulary imports seqio and TensorFlow: only when used
    import seqio

# `vocab.SYNTHETIC_VOCAB_SIZE`, repeated so that this module imports without TensorFlow
# (tests/data/test_task_options.py checks that the two agree).
SYNTHETIC_VOCAB_SIZE = 512


@dataclasses.dataclass(frozen=True)
class VocabularyOptions:
    """Which vocabulary a group of tasks uses (`vocab.get_vocabulary`'s arguments).

    Attributes:
      kind: "bytes", "sentencepiece", "pretrained" or "synthetic".
      path: the SentencePiece file ("sentencepiece") or pretrained model name ("pretrained").
      vocab_size: the synthetic vocabulary's size (kind "synthetic").
    """

    kind: str = "bytes"
    path: Optional[str] = None
    vocab_size: int = SYNTHETIC_VOCAB_SIZE

    def build(self) -> "seqio.Vocabulary":
        """The seqio vocabulary these options name (a synthetic one is trained and cached on
        first use)."""
        from mathft_jax.data import vocab
        return vocab.get_vocabulary(kind=self.kind, path=self.path, vocab_size=self.vocab_size)


@gin.register(module="mathft_jax.data")
def math_vocabulary(kind: str = "bytes", path: Optional[str] = None) -> VocabularyOptions:
    """The vocabulary options of the MATH and custom-file tasks (the model being fine-tuned
    picks them). Gin: `mathft_jax.data.math_vocabulary.kind = 'sentencepiece'` and
    `.path = '...model'`."""
    return VocabularyOptions(kind=kind, path=path)


@gin.register(module="mathft_jax.data")
def synthetic_vocabulary(kind: str = "synthetic", path: Optional[str] = None,
                         vocab_size: int = SYNTHETIC_VOCAB_SIZE) -> VocabularyOptions:
    """The vocabulary options of the synthetic tasks: by default their own cached
    SentencePiece model."""
    return VocabularyOptions(kind=kind, path=path, vocab_size=vocab_size)


# Each vocabulary's `TaskOptions` field -> the function (gin name) giving its defaults.
VOCABULARIES = {"math_vocabulary": math_vocabulary,
                "synthetic_vocabulary": synthetic_vocabulary}


@gin.register("math_task_options", module="tasks")
@dataclasses.dataclass(frozen=True)
class MathTaskOptions:
    """Options of the MATH tasks (gin: `tasks.math_task_options.*`).

    Attributes:
      split_config: "paper" (12,000 / MATH500) or "original" (7,500 / 5,000).
      on_error: "raise" or "skip" (counted and logged) for malformed records.
      data_dir: the MATH folder; None: `TaskOptions.math_data_dir`, then
        `math_dataset.math_data_dir`'s search.
    """

    split_config: str = "paper"
    on_error: str = "raise"
    data_dir: Optional[str] = None


@gin.register("synthetic_task_options", module="tasks")
@dataclasses.dataclass(frozen=True)
class SyntheticTaskOptions:
    """Sizes and draw of the synthetic tasks (gin: `tasks.synthetic_task_options.*`).

    Attributes:
      num_train, num_validation, num_test: problems per split.
      seed: the generator's seed.
      corruption_rate: the share of train solutions of `synthetic_sft_corrupted` carrying a
        slip, in [0, 1].
      levels: the difficulty levels drawn (uniformly); e.g. (1, 2) for an easier benchmark
        that a small model learns in fewer steps.
      families: the subjects drawn (uniformly; None for all six), e.g.
        `('Linear Equations', 'Fractions')`.

    Raises:
      ValueError: on a rate outside [0, 1], an empty or unknown level, an unknown subject.
    """

    num_train: int = 20000
    num_validation: int = 500
    num_test: int = 500
    seed: int = 0
    corruption_rate: float = 0.25
    levels: tuple[int, ...] = synthetic.LEVELS
    families: Optional[tuple[str, ...]] = None

    def __post_init__(self):
        if not 0.0 <= self.corruption_rate <= 1.0:
            raise ValueError(f"corruption_rate must be in [0, 1], got {self.corruption_rate}")
        levels = tuple(self.levels)
        if not levels or not set(levels) <= set(synthetic.LEVELS):
            raise ValueError(f"levels must be a non-empty subset of {synthetic.LEVELS}, "
                             f"got {levels}")
        object.__setattr__(self, "levels", levels)
        if self.families is not None:
            object.__setattr__(self, "families", tuple(self.families))
        synthetic.select_families(self.families)  # raises on an unknown subject


@dataclasses.dataclass(frozen=True)
class TaskOptions:
    """Everything the registered tasks read besides their split.

    Attributes:
      math: the MATH tasks' options.
      synthetic: the synthetic tasks' options.
      math_vocabulary: the vocabulary of the MATH and custom JSONL tasks.
      synthetic_vocabulary: the vocabulary of the synthetic tasks.
      math_data_dir: the MATH folder when `math.data_dir` names none (gin:
        `mathft_jax.data.math_data_dir.path`).
    """

    math: MathTaskOptions = MathTaskOptions()
    synthetic: SyntheticTaskOptions = SyntheticTaskOptions()
    math_vocabulary: VocabularyOptions = math_vocabulary()
    synthetic_vocabulary: VocabularyOptions = synthetic_vocabulary()
    math_data_dir: Optional[str] = None

    def vocabulary_identity(self, name: str) -> dict[str, Any]:
        """What a recipe fingerprint records of vocabulary `name` (a `VOCABULARIES` key): the
        fields that differ from its defaults (so the default vocabulary records none)."""
        chosen = dataclasses.asdict(getattr(self, name))
        defaults = dataclasses.asdict(VOCABULARIES[name]())
        return {key: value for key, value in chosen.items() if value != defaults[key]}


_lock = threading.Lock()
_current = TaskOptions()


def current() -> TaskOptions:
    """The options the registered tasks read now (the defaults until `set_current`)."""
    return _current


def set_current(options: TaskOptions) -> TaskOptions:
    """Installs `options` for every task of this process; returns the ones replaced.

    The tasks follow: a task's vocabulary is built again when its options change
    (`vocab.DeferredVocabulary`'s key) and its records are read again under other options
    (`sources.RecordsDataSource`'s key).
    """
    global _current
    if not isinstance(options, TaskOptions):
        raise TypeError(f"set_current takes a TaskOptions, got {type(options).__name__}")
    with _lock:
        previous, _current = _current, options
    return previous


@contextlib.contextmanager
def replaced(**changes: Any) -> Iterator[TaskOptions]:
    """Within the block, `current()` with the given fields replaced (`dataclasses.replace`);
    the options before are restored after it.

    Example:
        >>> with replaced(math=MathTaskOptions(split_config="original")) as options:
        ...     options.math.split_config, current() is options
        ('original', True)
    """
    options = dataclasses.replace(current(), **changes)
    previous = set_current(options)
    try:
        yield options
    finally:
        set_current(previous)
