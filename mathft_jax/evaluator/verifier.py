"""The likelihood verifier: an evaluator that scores a solution by its own probability of it.

The classification evaluators learn a new output (a label word) from a few hundred examples
and, in the miniature, lose what the generator knew (README, "Does the evaluator learn").
This evaluator keeps the generator's output instead: it starts from the generator and is
trained with token-level process supervision (Cobbe et al. 2021 read a verdict at every token;
here the checked steps give the token labels):

* the language-model loss on every token of a correct solution, and on the result of every
  step the checker calls right (`synthetic.checked_results`);
* an unlikelihood term, -log(1 - p(result)), on the whole claimed result of every step the
  checker calls wrong (the result's tokens together: a wrong "13" may share its first token
  with the right "12").

It scores a candidate by S = exp(log p(solution | prompt)), the model's probability of the
whole text after the generator's own prompt (`score`, read "likelihood"): the untrained
generator's likelihood row is the same score before this training.

Row layout (kind "tokens"): `tokens` = [BOS] + prompt + solution, `token_weights` per token
(the weight of predicting that token from the ones before it): 1 = likelihood term, -k = a
token of the k-th wrong result (k <= MAX_WRONG_STEPS), 0 = not trained on. Example, a wrong
solution whose result "3" (token 9) is wrong and whose other result (token 11) is right:

    tokens        [5, 6, 7, 8, 9, 10, 11]      (prompt 5 6, solution 7 8 9 10 11)
    token_weights [0, 0, 0, 0, -1, 0, 1]
    decoder_input_tokens  [5, 6, 7, 8, 9, 10]
    decoder_target_tokens [6, 7, 8, 9, 10, 11]
    decoder_loss_weights  [0, 0, 0, -1, 0, 1]
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

import seqio
import tensorflow as tf

from mathft_jax.evaluator.inputs import _slot
from mathft_jax.evaluator.unpacked import UnpackedConverter

TOKEN_FEATURES = ("tokens", "token_weights")
MAX_WRONG_STEPS = 16


@dataclasses.dataclass(frozen=True)
class VerifierInput:
    """[BOS] + prompt + solution token ids; the solution starts at `solution_start`."""

    tokens: tuple[int, ...]
    solution_start: int
    result_spans: tuple[tuple[int, int, bool], ...] = ()  # token [first, last], right


def build_verifier_input(vocab: seqio.Vocabulary, template: str, problem: str, solution: str,
                         *, max_length: int, bos_id: Optional[int] = None,
                         results: Sequence[tuple[int, int, bool]] = ()) -> VerifierInput:
    """The verifier's tokens for one candidate, as the generator saw it: the prompt
    (`template` up to "{solution}") and the solution encoded apart, as SeqIO encodes a
    generation task's inputs and targets. A row longer than `max_length` loses the front of
    its prompt, then of its solution (result spans cut off are dropped).

    Args:
      vocab, template, problem, solution: the vocabulary and texts (stripped here).
      max_length: the most tokens of the row, BOS included.
      bos_id: a BOS id to put first, or None.
      results: (start, end, right) character spans of the solution's checked results.
    """
    head = [] if bos_id is None else [bos_id]
    if max_length <= len(head) + 1:
        raise ValueError(f"max_length {max_length} leaves no room after {len(head)} BOS tokens")
    solution = solution.strip()
    prompt = template.split("{solution}")[0].format(problem=problem.strip())
    prompt_tokens, solution_tokens = list(vocab.encode(prompt)), list(vocab.encode(solution))
    spans = []
    for start, end, right in results:
        first = _slot(vocab, solution, solution_tokens, start) + 1 if start else 0
        last = _slot(vocab, solution, solution_tokens, end)
        spans.append((first, max(first, last), right))
    body = prompt_tokens + solution_tokens
    cut = max(len(body) - (max_length - len(head)), 0)
    shift = len(head) + len(prompt_tokens) - cut
    kept = tuple((a + shift, b + shift, ok) for a, b, ok in spans if a + shift >= len(head) + 1)
    return VerifierInput(tuple(head + body[cut:]), max(shift, len(head)), kept)


def token_weights(built: VerifierInput, correct: bool) -> list[int]:
    """`token_weights` of a row (see the module docstring): a correct solution's tokens all
    1; otherwise its right results 1 and its k-th wrong result -k."""
    weights = [0] * len(built.tokens)
    if correct:
        weights[built.solution_start:] = [1] * (len(built.tokens) - built.solution_start)
        return weights
    wrong = 0
    for first, last, right in built.result_spans:
        if not right:
            wrong += 1
            if wrong > MAX_WRONG_STEPS:
                continue
        for i in range(first, last + 1):
            weights[i] = 1 if right else -wrong
    return weights


class TokenFeatureConverter(UnpackedConverter):
    """Rows of kind "tokens" (see the module docstring). Never packs."""

    TASK_FEATURES = {k: seqio.FeatureConverter.FeatureSpec(dtype=tf.int32)
                     for k in TOKEN_FEATURES}

    def row_length(self, task_feature_lengths: Mapping[str, int]) -> int:
        return task_feature_lengths["tokens"] - 1

    def _convert_features(self, ds: tf.data.Dataset,
                          task_feature_lengths: Mapping[str, int]) -> tf.data.Dataset:
        length = self.row_length(task_feature_lengths)

        def convert(ex):
            tokens, weights = ex["tokens"], ex["token_weights"]
            n = tf.size(tokens) - 1
            row = {"decoder_input_tokens": tokens[:-1], "decoder_target_tokens": tokens[1:],
                   "decoder_loss_weights": weights[1:], "decoder_positions": tf.range(n),
                   "decoder_segment_ids": tf.ones([n], tf.int32)}
            return {k: tf.pad(v, [[0, length - n]]) for k, v in row.items()}

        return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
