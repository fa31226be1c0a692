"""Turning a generated row into its text: EOS removed, cut before the first stop string.

Example (stop string "\\n\\nProblem:", the model went on to write a new problem):
    tokens decode to "x = 2.\\n\\nProblem: ..."  ->  text "x = 2.", finish_reason "eos",
    num_tokens = the fewest tokens whose text already contains the stop string.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import seqio

from mathft_jax.decoding.decode_loop import FINISH_EOS, FINISH_STOP


def cut_at_stop(tokens: list[int], logprobs: np.ndarray, finish: int, vocab: seqio.Vocabulary,
                eos_id: Optional[int], stop_strings: Sequence[str]
                ) -> tuple[str, float, int, str]:
    """(text, summed logprob, num_tokens, finish_reason) of one generated row.

    Args:
      tokens: the row's generated ids (EOS included when it ended with one).
      logprobs: their log-probs under the untempered model.
      finish: the decode loop's finish code (FINISH_EOS / FINISH_LENGTH / FINISH_STOP).
      vocab: decodes ids to text.
      eos_id: the EOS id (removed from the text, counted in num_tokens).
      stop_strings: texts that end a solution; the text is cut before the first one.
    """
    reason = "eos" if finish in (FINISH_EOS, FINISH_STOP) else "length"
    body = tokens[:-1] if finish == FINISH_EOS and tokens and tokens[-1] == eos_id else tokens
    text = vocab.decode(body)
    n = len(tokens)
    cuts = [text.find(s) for s in stop_strings if s and s in text]
    if cuts:
        text = text[:min(cuts)]
        reason = "eos"
        n = _first_prefix_with_stop(body, vocab, stop_strings)
    return text, float(np.sum(logprobs[:n], dtype=np.float64)), n, reason


def _first_prefix_with_stop(body: list[int], vocab: seqio.Vocabulary,
                            stop_strings: Sequence[str]) -> int:
    """The fewest tokens of `body` whose text contains a stop string (binary search: a
    prefix's text only grows)."""
    lo, hi = 1, len(body)
    while lo < hi:
        mid = (lo + hi) // 2
        if any(s and s in vocab.decode(body[:mid]) for s in stop_strings):
            hi = mid
        else:
            lo = mid + 1
    return lo
