"""build_examples: the evaluator's training data from graded candidates, on hand-made rows.

Guards the balance per problem (k correct and k incorrect, k capped at max_per_problem // 2),
pair order (chosen grades correct, rejected incorrect), one-sided problems ("skip" vs
"keep"), deduplication, that the greedy row is no example, and that every text keeps the
label of its own sample (rows arrive out of order).
"""

import pytest

from mathft_jax import formats
from mathft_jax.evaluation.graded import grade_file
from mathft_jax.evaluator import examples as examples_lib
from mathft_jax.evaluator.examples import (
    build_examples, build_step_examples, format_step_summary, format_summary, unique_solutions,
    write_examples)


def _row(pid, index, text, gold, decoding="sample"):
    return {"problem_id": pid, "sample_index": index, "decoding": decoding, "text": text,
            "gold_answer": gold, "problem": f"statement of {pid}"}


# Correct / incorrect texts by hand (gold of pa: 4, pb: 1, pc: 9, pe: 3, pf: 0).
CORRECT = {r"\boxed{4}", r"so \boxed{4}.", r"x = 1, \boxed{1}", r"\boxed{1}", r"\boxed{3}",
           r"\boxed{0}", r"a \boxed{0}", r"b \boxed{0}"}
INCORRECT = {r"\boxed{5}", "no answer", r"\boxed{6}", r"\boxed{2}", r"\boxed{8}",
             r"\boxed{7}", "I give up", r"\boxed{10}"}
ROWS = [
    # pa: 2 unique correct, 3 unique incorrect (one without an answer), 2 duplicates (after
    # stripping white space), and a correct greedy row whose text is in no sample.
    _row("pa", 0, r"\boxed{4}", "4"), _row("pa", 1, r"\boxed{5}", "4"),
    _row("pa", 2, r"so \boxed{4}.", "4"), _row("pa", 3, "no answer", "4"),
    _row("pa", 4, "  \\boxed{4} ", "4"), _row("pa", 5, r"\boxed{6}", "4"),
    _row("pa", 6, "\\boxed{5}\n", "4"), _row("pa", 0, r"greedy \boxed{4}", "4", "greedy"),
    # pb: all correct; pc: all incorrect; pd: no gold answer.
    _row("pb", 0, r"x = 1, \boxed{1}", "1"), _row("pb", 1, r"\boxed{1}", "1"),
    _row("pc", 0, r"\boxed{2}", "9"), _row("pc", 1, r"\boxed{8}", "9"),
    _row("pc", 2, r"\boxed{7}", "9"),
    _row("pd", 0, r"\boxed{4}", None),
    # pe: one correct, one without an answer (incorrect), in the opposite sample order.
    _row("pe", 0, "I give up", "3"), _row("pe", 1, r"\boxed{3}", "3"),
    # pf: more correct (3) than incorrect (1).
    _row("pf", 0, r"\boxed{0}", "0"), _row("pf", 1, r"a \boxed{0}", "0"),
    _row("pf", 2, r"b \boxed{0}", "0"), _row("pf", 3, r"\boxed{10}", "0"),
]


def _build(**kw):
    return build_examples(list(reversed(ROWS)), **kw)  # rows out of sample order


def _by_kind(examples, pid):
    cls = [e for e in examples if e["kind"] == "classification" and e["problem_id"] == pid]
    pairs = [e for e in examples if e["kind"] == "pair" and e["problem_id"] == pid]
    return cls, pairs


def test_balanced_pairs_chosen_correct_rejected_incorrect():
    examples, summary = _build(max_per_problem=10)
    assert summary == {"problems": 6, "contrastive": 3, "all_correct": 1, "all_incorrect": 1,
                       "no_gold": 1, "duplicates": 2, "classification": 8, "positive": 4,
                       "pairs": 4}
    cls, pairs = _by_kind(examples, "pa")
    positives = [e["solution"] for e in cls if e["label"]]
    negatives = [e["solution"] for e in cls if not e["label"]]
    assert sorted(positives) == sorted([r"\boxed{4}", r"so \boxed{4}."])  # k = min(2, 3, 5)
    assert len(negatives) == 2 and len(set(negatives)) == 2
    assert set(negatives) <= {r"\boxed{5}", "no answer", r"\boxed{6}"}
    assert len(pairs) == 2
    assert {p["chosen"] for p in pairs} == set(positives)
    assert {p["rejected"] for p in pairs} == set(negatives)
    for e in examples:  # every text with its own sample's grade
        if e["kind"] == "classification":
            assert e["solution"] in (CORRECT if e["label"] else INCORRECT)
        else:
            assert e["chosen"] in CORRECT and e["rejected"] in INCORRECT
        assert e["problem"] == f"statement of {e['problem_id']}"
    assert not any("greedy" in str(e.values()) for e in examples)
    cls, pairs = _by_kind(examples, "pe")
    assert [(e["solution"], e["label"]) for e in cls] == [(r"\boxed{3}", True),
                                                          ("I give up", False)]
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [(r"\boxed{3}", "I give up")]
    cls, pairs = _by_kind(examples, "pf")  # k = min(3, 1, 5) = 1
    assert sorted(e["label"] for e in cls) == [False, True] and len(pairs) == 1
    assert [e["solution"] for e in cls if not e["label"]] == [r"\boxed{10}"]


def test_cap_is_half_of_max_per_problem():
    examples, summary = _build(max_per_problem=2)
    cls, pairs = _by_kind(examples, "pa")
    assert sorted(e["label"] for e in cls) == [False, True] and len(pairs) == 1
    assert summary["classification"] == 6 and summary["positive"] == 3
    assert summary["pairs"] == 3


def test_one_sided_problems_skipped_or_kept_without_pairs():
    skipped, _ = _build(max_per_problem=4, one_sided="skip")
    assert {e["problem_id"] for e in skipped} == {"pa", "pe", "pf"}
    kept, summary = _build(max_per_problem=4, one_sided="keep")
    cls_b, pairs_b = _by_kind(kept, "pb")
    assert sorted((e["solution"], e["label"]) for e in cls_b) == [
        (r"\boxed{1}", True), (r"x = 1, \boxed{1}", True)] and pairs_b == []
    cls_c, pairs_c = _by_kind(kept, "pc")
    assert len(cls_c) == 2 and not any(e["label"] for e in cls_c) and pairs_c == []  # cap 2
    assert {e["solution"] for e in cls_c} <= {r"\boxed{2}", r"\boxed{8}", r"\boxed{7}"}
    assert summary["all_correct"] == 1 and summary["all_incorrect"] == 1
    # pa 4 + pe 2 + pf 2 + pb 2 + pc 2 classification examples; pa 2 + pe 1 + pf 1 + pb 2
    # positive
    assert summary["classification"] == 12 and summary["positive"] == 6
    assert summary["pairs"] == 4


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_duplicate_texts_whatever_the_seed(seed):
    examples, _ = _build(max_per_problem=10, seed=seed)
    cls, _ = _by_kind(examples, "pa")
    texts = [e["solution"].strip() for e in cls]
    assert len(texts) == len(set(texts)) == 4


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="max_per_problem must be >= 2, got 1"):
        build_examples(ROWS, max_per_problem=1)
    build_examples(ROWS, max_per_problem=2)  # the smallest cap that gives a pair
    with pytest.raises(ValueError,
                       match=r"one_sided must be one of \('skip', 'keep'\), got 'drop'"):
        build_examples(ROWS, one_sided="drop")


def test_summary_line_names_every_count():
    summary = {"problems": 9, "contrastive": 8, "all_correct": 7, "all_incorrect": 6,
               "no_gold": 5, "duplicates": 4, "classification": 3, "positive": 2, "pairs": 1}
    assert format_summary(summary) == (
        "evaluator data: 9 problems (8 with correct and incorrect samples, 7 all correct, "
        "6 all incorrect, 5 without gold); 4 duplicate texts dropped; 3 classification "
        "examples (2 correct), 1 pairs")


# Step examples: q1 has a right and a wrong step result and a duplicate, q2 no gold answer,
# q3 only an incorrect answer whose one step is right. Offsets by hand: "So " is 3
# characters, "$6 - 5 = 1$" and "$2 + 2 = 5$" 11 (end 14), "$2 \cdot 3 = 6$" 15.
STEP_ROWS = [
    _row("q1", 0, r"So $6 - 5 = 1$. \boxed{1}", "1"),
    _row("q1", 1, "  So $6 - 5 = 1$. \\boxed{1}\n", "1"),
    _row("q1", 2, r"So $2 + 2 = 5$, \boxed{5}", "1"),
    _row("q1", 3, "   ", "1"),  # empty after stripping: dropped, not counted as a duplicate
    _row("q1", 0, r"So $1 + 1 = 2$. \boxed{1}", "1", "greedy"),
    _row("q2", 0, r"$1 + 1 = 2$ \boxed{2}", None),
    _row("q3", 0, r"$2 \cdot 3 = 6$ so \boxed{6}", "4"),
]


def test_step_examples_by_hand():
    examples, summary = build_step_examples(list(reversed(STEP_ROWS)))
    assert examples == [
        {"problem_id": "q1", "problem": "statement of q1",
         "solution": r"So $6 - 5 = 1$. \boxed{1}", "label": True, "steps": [(14, True)]},
        {"problem_id": "q1", "problem": "statement of q1",
         "solution": r"So $2 + 2 = 5$, \boxed{5}", "label": False, "steps": [(14, False)]},
        {"problem_id": "q3", "problem": "statement of q3",
         "solution": r"$2 \cdot 3 = 6$ so \boxed{6}", "label": False, "steps": [(15, True)]}]
    assert summary == {"problems": 3, "no_gold": 1, "duplicates": 1, "solutions": 3,
                       "correct": 1, "steps": 3, "wrong_steps": 1}
    assert format_step_summary(summary) == (
        "step evaluator data: 3 problems (1 without gold); 1 duplicate texts dropped; "
        "3 solutions (1 correct) with 3 checked steps (1 wrong)")


def test_rows_without_a_statement_give_an_empty_problem():
    rows = [{**_row("pz", i, text, "4"), "problem": None} for i, text in
            enumerate((r"\boxed{4}", r"\boxed{5}"))]
    del rows[1]["problem"]
    examples, _ = build_examples(rows)
    assert {e["problem"] for e in examples} == {""} and len(examples) == 3


# p_many: ten right and ten wrong samples, so each seed picks one of 100 (chosen, rejected).
MANY = [_row("p_many", i, rf"\boxed{{{4 if i < 10 else i}}} #{i}", "4") for i in range(20)]


def test_the_choice_is_fixed_by_the_seed_and_the_default_seed_is_zero():
    first = build_examples(MANY + ROWS, max_per_problem=2, seed=0)
    assert build_examples(list(reversed(MANY + ROWS)), max_per_problem=2, seed=0) == first
    assert build_examples(MANY + ROWS, max_per_problem=2) == first
    picks = {tuple(e["solution"] for e in build_examples(MANY, max_per_problem=2, seed=s)[0]
                   if e["kind"] == "classification") for s in range(5)}
    assert len(picks) > 1  # the seed is used


def test_one_sided_problems_are_each_counted():
    rows = [_row(pid, 0, rf"\boxed{{{answer}}}", "4") for pid, answer in
            (("r1", 4), ("r2", 4), ("w1", 5), ("w2", 6), ("w3", 7))]
    _, summary = build_examples(rows)
    assert (summary["all_correct"], summary["all_incorrect"]) == (2, 3)


def test_the_examples_file_is_built_from_the_graded_file_without_grading_again(
        tmp_path, monkeypatch):
    """`write_examples` (the recipe's evaluator_examples stage) reads the candidates' grading:
    its examples and summaries equal those of grading the rows here, and nothing grades."""
    candidates, graded_file, out = (str(tmp_path / n) for n in ("c.jsonl", "g.jsonl",
                                                                "e.jsonl"))
    (tmp_path / "c.jsonl").write_bytes(formats.to_jsonl({"version": 1, **r}
                                                        for r in reversed(ROWS)))
    grade_file(candidates, graded_file)
    direct, summary = _build(max_per_problem=4, seed=3)
    solutions, solution_summary = unique_solutions(ROWS)
    stepped, _ = build_step_examples(ROWS)

    def no_grading(*args, **kwargs):
        raise AssertionError("graded again")
    monkeypatch.setattr(examples_lib, "grade_problems", no_grading)
    summaries = write_examples(candidates, graded_file, out, max_per_problem=4, seed=3)
    assert summaries == {"data": summary, "solutions": solution_summary}
    for kind in ("classification", "pair"):
        assert formats.read_examples(out, kind) == [e for e in direct if e["kind"] == kind]
    assert formats.read_examples(out, "solution") == solutions
    assert [{k: e[k] for k in ("problem_id", "problem", "solution", "label")}
            for e in stepped] == [{k: e[k] for k in e if k not in ("version", "kind")}
                                  for e in solutions]
    assert summary["classification"] and summary["pairs"] and solution_summary["solutions"]
