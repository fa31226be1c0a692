"""cut_at_stop: the text is cut before the EARLIEST stop-string occurrence, whether the same
string occurs twice or another listed string occurs first; num_tokens and the logprob cover
the fewest tokens that contain it."""

import numpy as np
import pytest
import seqio

from mathft_jax.decoding import FINISH_EOS, FINISH_LENGTH, FINISH_STOP
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


# Without a stop string in the text: the finish code alone decides the reason; a final EOS is
# left out of the text but counted in num_tokens and the logprob. Logprobs are powers of two
# apart, so each sum names the tokens it covers.
@pytest.mark.parametrize("finish, with_eos, reason, n, logprob", [
    (FINISH_EOS, True, "eos", 3, -7.0),       # "ab" + EOS: all three tokens
    (FINISH_EOS, False, "eos", 2, -3.0),      # EOS finish without a final EOS id: nothing cut
    (FINISH_LENGTH, False, "length", 2, -3.0),
    (FINISH_STOP, False, "eos", 2, -3.0),     # the loop's own stop ids end a solution too
])
def test_without_a_stop_string(finish, with_eos, reason, n, logprob):
    tokens = VOCAB.encode("ab") + ([VOCAB.eos_id] if with_eos else [])
    logprobs = -np.array([1.0, 2.0, 4.0][:len(tokens)], dtype=np.float32)
    # An empty stop string matches nothing (it is in every text).
    out = cut_at_stop(tokens, logprobs, finish, VOCAB, VOCAB.eos_id, ["", "Q"])
    assert out == ("ab", logprob, n, reason)


def test_length_finish_cut_by_a_stop_string_counts_as_eos():
    tokens = VOCAB.encode("abQcd")
    logprobs = -np.array([1.0, 2.0, 4.0, 8.0, 16.0], dtype=np.float32)
    out = cut_at_stop(tokens, logprobs, FINISH_LENGTH, VOCAB, VOCAB.eos_id, ["Q"])
    assert out == ("ab", -7.0, 3, "eos")  # "ab" and the stop's one token


@pytest.mark.parametrize("stop, n, logprob", [("Q", 1, -1.0), ("QQ", 2, -3.0)])
def test_a_stop_string_at_the_start(stop, n, logprob):
    tokens = VOCAB.encode("QQ rest")
    logprobs = -np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0], dtype=np.float32)
    out = cut_at_stop(tokens, logprobs, FINISH_LENGTH, VOCAB, VOCAB.eos_id, [stop])
    assert out == ("", logprob, n, "eos")


class _EosVisible:
    """A vocabulary whose decode shows the EOS id (ByteVocabulary and SentencePiece drop it),
    so the test sees whether cut_at_stop removed it."""

    eos_id = 1

    def decode(self, ids):
        return "".join("<eos>" if i == self.eos_id else chr(i) for i in ids)


@pytest.mark.parametrize("finish, text", [(FINISH_EOS, "ab"), (FINISH_STOP, "ab<eos>")])
def test_only_an_eos_finish_drops_the_final_eos(finish, text):
    tokens = [ord("a"), ord("b"), _EosVisible.eos_id]
    logprobs = -np.array([1.0, 2.0, 4.0], dtype=np.float32)
    out = cut_at_stop(tokens, logprobs, finish, _EosVisible(), _EosVisible.eos_id, ["Q"])
    assert out == (text, -7.0, 3, "eos")


def test_the_logprob_is_summed_in_float64():
    # In float32, 1 + 1e-8 rounds to 1; the float64 sum keeps the small term (over a long
    # solution, float32 accumulation would drift).
    logprobs = np.array([-1.0, -1e-8], dtype=np.float32)
    _, logprob, _, _ = cut_at_stop(VOCAB.encode("ab"), logprobs, FINISH_LENGTH, VOCAB,
                                   VOCAB.eos_id, ["Q"])
    assert logprob == -1.0 + float(np.float32(-1e-8))
    assert logprob != -1.0
