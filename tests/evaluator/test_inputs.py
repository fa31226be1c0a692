"""One evaluator input builder: a candidate gives the same tokens in a training row as when
it is scored (template, trimming, BOS, label prefix, step slots)."""

import numpy as np
import pytest

from mathft_jax.data import prompts
from mathft_jax.data.synthetic import checked_operations, generate_problem
from mathft_jax.evaluator import tasks as evaluator_tasks
from mathft_jax.evaluator.inputs import build_input, prompt_text
from mathft_jax.evaluator.label_words import resolve_label_words
from mathft_jax.data.task_lookup import get_task
from mathft_jax.evaluator.objective import feature_converter

LIKE = "synthetic_sft"


def _rows(name, length):
    task = get_task(name)
    lengths = evaluator_tasks.feature_lengths(name, length, None)
    ds = task.get_dataset(lengths, split="train", shuffle=False)
    return list(ds.as_numpy_iterator()), lengths


def _scored(vocab, row, read, max_length):
    from mathft_jax.score import _input
    words = resolve_label_words(vocab, *prompts.EVALUATOR_LABELS)
    return _input(vocab, prompts.EVALUATOR_TEMPLATE, row, words, max_length, None, read)


def test_classification_rows_hold_the_tokens_score_reads(vocab, candidates):
    path, rows = candidates
    name = evaluator_tasks.register_evaluator_task(
        name="inputs_test_classification", candidates_file=str(path), kind="classification",
        like_task=LIKE)
    trained, _ = _rows(name, 256)
    scored = {tuple(_scored(vocab, r, "final", 256).tokens) for r in rows}
    assert len(trained) == 4
    assert {tuple(ex["inputs"].tolist()) for ex in trained} == scored


def test_step_rows_hold_the_tokens_and_slots_score_reads(vocab, candidates):
    path, rows = candidates
    name = evaluator_tasks.register_evaluator_task(
        name="inputs_test_steps", candidates_file=str(path), kind="steps", like_task=LIKE,
        max_length=256)
    trained, lengths = _rows(name, 256)
    words = resolve_label_words(vocab, *prompts.EVALUATOR_LABELS)
    by_tokens = {tuple(ex["tokens"].tolist()): ex for ex in trained}
    for r in rows:
        built = _scored(vocab, r, "steps", 256)
        ex = by_tokens[built.tokens]
        read = np.flatnonzero(ex["read_targets"]).tolist()
        assert read == list(built.step_slots) + [built.final_slot]
        ops = [ok for _, ok in checked_operations(r["text"].strip())]
        labels = [t == words.positive for t in ex["read_targets"][read]]
        assert labels[:-1] == ops and labels[-1] == (r["sample_index"] == 0)
    # The converter reads exactly those slots, with no loss anywhere else.
    converted = feature_converter(get_task(name), pack=True)(get_task(name).get_dataset(
        lengths, split="train", shuffle=False), lengths)
    for ex in converted.as_numpy_iterator():
        assert (ex["decoder_loss_weights"] == (ex["decoder_target_tokens"] > 0)).all()


def test_a_step_slot_is_the_last_token_of_its_step(vocab):
    p = generate_problem(seed=0, split="train", index=5, levels=(1,))
    ends = [end for end, _ in checked_operations(p.solution)]
    built = build_input(vocab, prompts.EVALUATOR_TEMPLATE, p.problem, p.solution, prefix=(),
                        max_length=512, step_ends=ends)
    text, start = prompt_text(prompts.EVALUATOR_TEMPLATE, p.problem, p.solution)
    assert len(built.step_slots) == len(ends) > 0
    for slot, end in zip(built.step_slots, ends):
        # Through the slot: the step's text up to its result, with its closing `$` or without
        # it when the vocabulary merges `$` with what follows (then the slot never reads past).
        through = vocab.decode(list(built.tokens[:slot + 1]))
        step = text[:start + end]
        assert step.endswith(through[-8:]) or step[:-1].endswith(through[-8:]), (step, through)
        assert not vocab.decode(list(built.tokens[:slot + 2])).startswith(step + " ")


def test_trimming_keeps_the_end_and_bos_and_prefix_stay(vocab):
    p = generate_problem(seed=0, split="train", index=5, levels=(1,))
    ends = [end for end, _ in checked_operations(p.solution)]
    whole = build_input(vocab, prompts.EVALUATOR_TEMPLATE, p.problem, p.solution,
                        prefix=(7,), max_length=512, step_ends=ends)
    cut = build_input(vocab, prompts.EVALUATOR_TEMPLATE, p.problem, p.solution, prefix=(7,),
                      max_length=30, bos_id=2, step_ends=ends)
    assert len(cut.tokens) == 30 and cut.tokens[0] == 2 and cut.tokens[-1] == 7
    assert cut.tokens[1:] == whole.tokens[-29:]
    dropped = len(whole.tokens) - 29
    assert list(cut.step_slots) == [s - dropped + 1 for s in whole.step_slots if s >= dropped]
    with pytest.raises(ValueError, match="no room"):
        build_input(vocab, "{problem}{solution}", "a", "b", prefix=(1, 2), max_length=2)
