"""The likelihood verifier: its rows hold what score reads, its token weights follow the
checker, and its loss is the language-model term plus one unlikelihood term per wrong result."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

from mathft_jax.data import prompts
from mathft_jax.data.synthetic import checked_results, generate_problem
from mathft_jax.evaluator import tasks as evaluator_tasks
from mathft_jax.evaluator.losses import make_evaluator_loss
from mathft_jax.evaluator.verifier import (TokenFeatureConverter, VerifierInput,
                                           build_verifier_input, token_weights)
from mathft_jax.models import Decoder
from mathft_jax.data.task_lookup import get_task
from mathft_jax.evaluator.objective import feature_converter
from tests.kit import CharVocab
from tests.training.helpers import TINY

LIKE = "synthetic_sft"


def test_the_input_is_the_generators_prompt_then_the_solution(vocab):
    p = generate_problem(seed=0, split="train", index=5, levels=(1,))
    built = build_verifier_input(vocab, prompts.GENERATOR_TEMPLATE, p.problem, p.solution,
                                 max_length=512, bos_id=2, results=checked_results(p.solution))
    prompt = list(vocab.encode(prompts.sft_prompt(p.problem)))
    assert built.tokens == tuple([2] + prompt + list(vocab.encode(p.solution)))
    assert built.solution_start == 1 + len(prompt)
    assert len(built.result_spans) == len(checked_results(p.solution)) == 2
    # Each span covers its claimed result: the tokens through it end with the result's text.
    for (first, last, _), (start, end, _) in zip(built.result_spans,
                                                 checked_results(p.solution)):
        claimed = p.solution[start:end].rstrip("$")
        assert claimed in vocab.decode(list(built.tokens[first:last + 1])), claimed
        assert "=" not in vocab.decode(list(built.tokens[first:last + 1]))
        assert first > built.solution_start


def test_trimming_cuts_the_prompts_front_and_keeps_the_spans_aligned(vocab):
    p = generate_problem(seed=0, split="train", index=5, levels=(1,))
    results = checked_results(p.solution)
    whole = build_verifier_input(vocab, prompts.GENERATOR_TEMPLATE, p.problem, p.solution,
                                 max_length=512, results=results)
    cut = build_verifier_input(vocab, prompts.GENERATOR_TEMPLATE, p.problem, p.solution,
                               max_length=len(whole.tokens) - 5, bos_id=2, results=results)
    assert cut.tokens[0] == 2 and cut.tokens[1:] == whole.tokens[6:]
    assert cut.solution_start == whole.solution_start - 5
    assert cut.result_spans == tuple((a - 5, b - 5, ok) for a, b, ok in whole.result_spans)


def test_token_weights_follow_the_outcome_and_the_checker(vocab):
    p = generate_problem(seed=0, split="train", index=5, levels=(1,))
    right = build_verifier_input(vocab, prompts.GENERATOR_TEMPLATE, p.problem, p.solution,
                                 max_length=512, results=checked_results(p.solution))
    w = token_weights(right, correct=True)
    assert w[:right.solution_start] == [0] * right.solution_start
    assert set(w[right.solution_start:]) == {1}
    wrong = build_verifier_input(
        vocab, prompts.GENERATOR_TEMPLATE, p.problem, p.corrupted_solution, max_length=512,
        results=checked_results(p.corrupted_solution))
    w = token_weights(wrong, correct=False)
    spans = wrong.result_spans
    assert any(not ok for _, _, ok in spans)
    k = 0
    for first, last, ok in spans:
        k += not ok
        assert w[first:last + 1] == [1 if ok else -k] * (last + 1 - first)
    in_spans = {i for a, b, _ in spans for i in range(a, b + 1)}
    assert all(v == 0 for i, v in enumerate(w) if i not in in_spans)


def test_rows_hold_the_tokens_score_reads_and_the_weights_shift_with_the_targets(
        vocab, candidates):
    from mathft_jax.score import _input
    path, rows = candidates
    name = evaluator_tasks.register_evaluator_task(
        name="verifier_test_tokens", candidates_file=str(path), kind="tokens", like_task=LIKE,
        max_length=256)
    lengths = evaluator_tasks.feature_lengths(name, 256, None)
    task = get_task(name)
    records = list(task.get_dataset(lengths, split="train", shuffle=False).as_numpy_iterator())
    scored = {_input(vocab, prompts.GENERATOR_TEMPLATE, r, None, 256, None, "likelihood").tokens
              for r in rows}
    assert {tuple(ex["tokens"].tolist()) for ex in records} == scored
    converted = list(feature_converter(task, pack=True)(task.get_dataset(
        lengths, split="train", shuffle=False), lengths).as_numpy_iterator())
    for ex, row in zip(converted, records):
        n = len(row["tokens"]) - 1
        assert (ex["decoder_input_tokens"][:n] == row["tokens"][:-1]).all()
        assert (ex["decoder_target_tokens"][:n] == row["tokens"][1:]).all()
        assert (ex["decoder_loss_weights"][:n] == row["token_weights"][1:]).all()
        assert not ex["decoder_loss_weights"][n:].any()


def test_the_likelihood_loss_by_hand():
    """Row 0: tokens weighted 1 at targets 1 and 2; row 1: a wrong result of two tokens
    (targets 2, 3: weight -1) and another of one (target 4: weight -2)."""
    model = Decoder(TINY)
    tokens = jnp.asarray(np.random.default_rng(0).integers(3, TINY.vocab_size, (2, 6)),
                         jnp.int32)
    params = model.init(jax.random.key(0), tokens[:, :5])["params"]
    batch = {"decoder_input_tokens": tokens[:, :5], "decoder_target_tokens": tokens[:, 1:],
             "decoder_loss_weights": jnp.asarray([[0, 1, 1, 0, 0], [0, 0, -1, -1, -2]]),
             "decoder_positions": jnp.tile(jnp.arange(5), (2, 1)),
             "decoder_segment_ids": jnp.ones((2, 5), jnp.int32)}
    task = type("Task", (), {"name": "verifier_loss_task"})()
    evaluator_tasks._REGISTERED["verifier_loss_task"] = (None, evaluator_tasks.EvaluatorTaskInfo(
        "tokens", prompts.GENERATOR_TEMPLATE, " correct", " incorrect", None))
    try:
        loss_sum, metrics = make_evaluator_loss(TINY, task, loss="likelihood")(
            params, batch, None)
    finally:
        del evaluator_tasks._REGISTERED["verifier_loss_task"]
    logits = model.apply({"params": params}, tokens[:, :5])
    log_p = np.asarray(jax.nn.log_softmax(logits.astype(jnp.float32)))
    lp = [[log_p[b, t, int(tokens[b, t + 1])] for t in range(5)] for b in range(2)]
    likelihood = -(lp[0][1] + lp[0][2])
    unlikely = (-np.log(1 - np.exp(lp[1][2] + lp[1][3]))) - np.log(1 - np.exp(lp[1][4]))
    assert float(loss_sum) == pytest.approx(likelihood + unlikely, rel=1e-5)
    assert float(metrics["denominator"]) == 2 + 2
    assert float(metrics["wrong_results"]) == 2


def test_the_likelihood_loss_needs_a_token_task(vocab, candidates):
    from mathft_jax.errors import ConfigError
    path, _ = candidates
    name = evaluator_tasks.register_evaluator_task(
        name="verifier_test_classification", candidates_file=str(path),
        kind="classification", like_task=LIKE)
    with pytest.raises(ConfigError, match="'likelihood' loss goes with a 'tokens'"):
        make_evaluator_loss(TINY, get_task(name), loss="likelihood")


# Prompt "Q:x\nA:" (6 tokens), solution "1+1=2, 2+3=6" (12 tokens, one per character).
HAND = dict(template="Q:{problem}\nA:{solution}", problem=" x ", solution=" 1+1=2, 2+3=6 ")
PROMPT, SOLUTION = [ord(c) for c in "Q:x\nA:"], [ord(c) for c in "1+1=2, 2+3=6"]
RESULTS = ((0, 1, True), (4, 5, True), (11, 12, False))  # "1", "2" and "6"


def test_the_verifier_input_by_hand():
    built = build_verifier_input(CharVocab(), **HAND, max_length=100, bos_id=1, results=RESULTS)
    assert built.tokens == tuple([1] + PROMPT + SOLUTION)
    assert built.solution_start == 7
    assert built.result_spans == ((7, 7, True), (11, 11, True), (18, 18, False))
    plain = build_verifier_input(CharVocab(), **HAND, max_length=18, results=RESULTS)
    assert plain.tokens == tuple(PROMPT + SOLUTION) and plain.solution_start == 6
    assert plain.result_spans == ((6, 6, True), (10, 10, True), (17, 17, False))
    # "$" alone is not the solution's "$." token: the span of "$" is its one token "$.". A
    # span on the row's first token (nothing before it predicts it) is dropped.
    merged = build_verifier_input(CharVocab(), "{solution}", "", "=4$. ok", max_length=9,
                                  results=((2, 3, False), (0, 2, True)))
    assert merged.tokens == (ord("="), ord("4"), 999, ord(" "), ord("o"), ord("k"))
    assert merged.result_spans == ((2, 2, False),)


def test_the_verifier_input_trimmed_by_hand():
    vocab = CharVocab()
    # Room for 9 after BOS: 9 cut, the solution from its 4th token; the span of "2" lands
    # on slot 2 (the first that has a token before it after BOS) and stays.
    built = build_verifier_input(vocab, **HAND, max_length=10, bos_id=1, results=RESULTS)
    assert built.tokens == tuple([1] + SOLUTION[3:])
    assert built.solution_start == 1
    assert built.result_spans == ((2, 2, True), (9, 9, False))
    # One more cut: the span of "2" would be on slot 1, right after BOS, and is dropped.
    assert build_verifier_input(vocab, **HAND, max_length=9, bos_id=1,
                                results=RESULTS).result_spans == ((8, 8, False),)
    cut = build_verifier_input(vocab, **HAND, max_length=9, results=RESULTS)
    assert cut.tokens == tuple(SOLUTION[3:]) and cut.solution_start == 0
    assert cut.result_spans == ((1, 1, True), (8, 8, False))
    assert build_verifier_input(vocab, **HAND, max_length=3, bos_id=1).tokens == (
        1, ord("="), ord("6"))
    assert build_verifier_input(vocab, **HAND, max_length=2).tokens == (ord("="), ord("6"))
    with pytest.raises(ValueError, match="max_length 2 leaves no room after 1 BOS tokens"):
        build_verifier_input(vocab, **HAND, max_length=2, bos_id=1)
    with pytest.raises(ValueError, match="max_length 1 leaves no room after 0 BOS tokens"):
        build_verifier_input(vocab, **HAND, max_length=1)


def test_token_weights_by_hand():
    built = VerifierInput(tuple(range(10)), 4, ((5, 6, True), (7, 7, False), (8, 9, False)))
    assert token_weights(built, correct=True) == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert token_weights(built, correct=False) == [0, 0, 0, 0, 0, 1, 1, -1, -2, -2]
    # The 17th wrong result and later ones get no weight; a right one after them still does.
    many = VerifierInput(tuple(range(20)), 0, tuple((i, i, False) for i in range(18))
                         + ((18, 19, True),))
    assert token_weights(many, correct=False) == [-(i + 1) for i in range(16)] + [0, 0, 1, 1]


def test_token_rows_by_hand():
    """The module docstring's row, padded to the task length minus one."""
    ds = tf.data.Dataset.from_tensors({"tokens": tf.constant([5, 6, 7, 8, 9, 10, 11]),
                                       "token_weights": tf.constant([0, 0, 0, 0, -1, 0, 1])})
    lengths = {"tokens": 9, "token_weights": 9}
    converter = TokenFeatureConverter(pack=True)
    assert converter.get_model_feature_lengths(lengths) == {
        k: 8 for k in ("decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights",
                       "decoder_positions", "decoder_segment_ids")}
    row = next(converter(ds, lengths).as_numpy_iterator())
    assert row["decoder_input_tokens"].tolist() == [5, 6, 7, 8, 9, 10, 0, 0]
    assert row["decoder_target_tokens"].tolist() == [6, 7, 8, 9, 10, 11, 0, 0]
    assert row["decoder_loss_weights"].tolist() == [0, 0, 0, -1, 0, 1, 0, 0]
    assert row["decoder_positions"].tolist() == [0, 1, 2, 3, 4, 5, 0, 0]
    assert row["decoder_segment_ids"].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
