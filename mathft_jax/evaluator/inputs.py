"""The evaluator's input tokens: ONE builder for training rows and for scoring.

template -> tokens -> trim -> BOS -> label prefix, and optionally the slots where step labels
are read. The evaluator tasks (`evaluator/tasks.py`) and `score.py` both call `build_input`, so
a candidate gives the same tokens in a training row as when it is scored (no skew in the BOS,
the trimming or the template).

Layout, for a prompt of n tokens, `max_length` L, label prefix p (`label_words.LabelWords`) and
an optional BOS id:

    tokens = [BOS] + prompt[-(L - len(p) - 1):] + p        (the front is cut when too long)
    final read slot = len(tokens) - 1                      (the label word comes next)

Step slots (process supervision): for each step end (a character offset into the solution,
e.g. `synthetic.checked_operations`), the slot of the last token of the text up to that end.
A vocabulary may merge the step's last character with the next one; the slot is then the last
token the prefix encoding shares with the whole prompt's, so it never reads past the step. Slots
cut off by the trimming are dropped.

Example (synthetic vocabulary, L = 256, prefix (447,)):
    x = build_input(vocab, EVALUATOR_TEMPLATE, "Solve ...", "... $6 - 5 = 1$, so ...",
                    prefix=(447,), max_length=256, step_ends=(14,))
    x.tokens[-1] == 447; x.final_slot == len(x.tokens) - 1; len(x.step_slots) == 1
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import seqio


@dataclasses.dataclass(frozen=True)
class EvaluatorInput:
    """Token ids of one evaluator prompt and the slots where labels are read."""

    tokens: tuple[int, ...]
    step_slots: tuple[int, ...] = ()

    @property
    def final_slot(self) -> int:
        return len(self.tokens) - 1


def prompt_text(template: str, problem: str, solution: str) -> tuple[str, int]:
    """The evaluator prompt and the character offset where the solution starts in it."""
    problem, solution = problem.strip(), solution.strip()
    head = template.split("{solution}")[0].format(problem=problem)
    return template.format(problem=problem, solution=solution), len(head)


def build_input(vocab: seqio.Vocabulary, template: str, problem: str, solution: str, *,
                prefix: Sequence[int], max_length: int, bos_id: Optional[int] = None,
                step_ends: Sequence[int] = ()) -> EvaluatorInput:
    """The evaluator input of (problem, solution); see the module docstring.

    Args:
      vocab: the model's vocabulary.
      template: the evaluator prompt with {problem} and {solution}.
      problem, solution: the texts (stripped here, as in every evaluator prompt).
      prefix: the label words' shared leading tokens, appended after the prompt.
      max_length: the most tokens the input may have (BOS and prefix included).
      bos_id: a BOS id to put first (pretrained models need it), or None.
      step_ends: character offsets into the stripped solution where steps end.
    """
    head = [] if bos_id is None else [bos_id]
    room = max_length - len(prefix) - len(head)
    if room < 1:
        raise ValueError(f"max_length {max_length} leaves no room for a prompt after "
                         f"{len(head)} BOS and {len(prefix)} prefix tokens")
    text, start = prompt_text(template, problem, solution)
    tokens = list(vocab.encode(text))
    slots = [_slot(vocab, text, tokens, start + end) for end in step_ends]
    cut = max(len(tokens) - room, 0)
    kept = [s - cut + len(head) for s in slots if s - cut >= 0]
    return EvaluatorInput(tuple(head + tokens[cut:] + list(prefix)), tuple(kept))


def _slot(vocab: seqio.Vocabulary, text: str, tokens: list[int], end: int) -> int:
    """The slot of the last token of text[:end] that the whole text's encoding shares."""
    before = list(vocab.encode(text[:end]))
    shared = 0
    for a, b in zip(before, tokens):
        if a != b:
            break
        shared += 1
    return max(shared - 1, 0)
