"""cut_at_stop: the text is cut before the EARLIEST stop-string occurrence, whether the same
string occurs twice or another listed string occurs first; num_tokens and the logprob cover
the fewest tokens that contain it."""

import numpy as np
import pytest
import seqio

from mathft_jax.decoding import FINISH_LENGTH
from mathft_jax.decoding.stop_strings import cut_at_stop

VOCAB = seqio.ByteVocabulary(extra_ids=0)  # one token per byte


@pytest.mark.parametrize("stops", [["\n\nProblem:"], [" z", "\n\nProblem:"],
                                   ["\n\nProblem:", "y"]])
@pytest.mark.parametrize("answer", ["x = 2.", "x=2", "The answer is 12."])
def test_cut_at_the_first_occurrence(stops, answer):
    tokens = VOCAB.encode(answer + "\n\nProblem: y\n\nProblem: z")
    logprobs = -np.arange(1, len(tokens) + 1, dtype=np.float32) / 100
    text, logprob, n, reason = cut_at_stop(tokens, logprobs, FINISH_LENGTH, VOCAB, VOCAB.eos_id,
                                           stops)
    assert text == answer and reason == "eos"
    n_expected = len(answer) + len("\n\nProblem:")  # e.g. 16 tokens for "x = 2."
    assert n == n_expected
    assert logprob == pytest.approx(-sum(range(1, n_expected + 1)) / 100, rel=1e-6)
