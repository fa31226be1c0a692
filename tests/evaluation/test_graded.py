"""The graded file: a candidates file graded once reads back as the same problems, and every
number built on it (evaluate's report, the recipe's per-problem metrics) equals the numbers of
grading the candidates directly."""

import json

import pytest

from mathft_jax import formats
from mathft_jax.evaluate import evaluate
from mathft_jax.evaluation import graded
from mathft_jax.evaluation.problems import grade_problems, with_scores
from mathft_jax.errors import ConfigError

# p1: gold 1/2, answers 0.5, 1/2 (one cluster, right), 3, none; p2: gold (1,2], answers
# (1,2), (1,2] twice, x; p3: a greedy row only; p4: no gold (left out, counted). Every greedy
# row answers the gold answer.
ANSWERS = {"p1": (r"\frac{1}{2}", ["0.5", "1/2", "3", None]),
           "p2": ("(1,2]", ["(1,2)", "(1,2]", "(1,2]", "x"]),
           "p3": ("7", []), "p4": (None, ["1"])}


def _candidates(path):
    rows = []
    for pid, (gold, answers) in ANSWERS.items():
        texts = [("greedy", 0, rf"\boxed{{{gold or 1}}}")]
        texts += [("sample", i, rf"so \boxed{{{a}}}." if a else "no idea")
                  for i, a in enumerate(answers)]
        rows += [formats.candidate_row(
            problem_id=pid, sample_index=i, decoding=d, text=t, logprob=0.0, num_tokens=1,
            finish_reason="eos", checkpoint="c", sampling={}, gold_answer=gold,
            level="Level 1", subject="Algebra", problem="?") for d, i, t in texts]
    path.write_bytes(formats.to_jsonl(reversed(rows)))  # out of order on purpose
    return rows


SCORES = {("p1", 0): 0.2, ("p1", 1): 0.9, ("p1", 2): 0.5, ("p1", 3): 0.1,
          ("p2", 0): 0.8, ("p2", 1): 0.3, ("p2", 2): 0.3}  # p2 #3 unscored


@pytest.fixture
def files(tmp_path):
    _candidates(tmp_path / "c.jsonl")
    (tmp_path / "s.jsonl").write_bytes(formats.to_jsonl(
        formats.score_row(problem_id=p, sample_index=i, score=s, positive_logprob=0.0,
                          negative_logprob=0.0, evaluator="e") for (p, i), s in SCORES.items()))
    return tmp_path


def test_a_graded_file_reads_back_as_the_problems_it_was_written_from(files):
    problems, counts = graded.grade_candidates(str(files / "c.jsonl"))
    assert counts == {"malformed": 0, "duplicate": 0, "conflicting_gold": 0,
                      "unextractable": 1, "missing_gold": 1, "unknown_verdicts": 0}
    assert [p.problem_id for p in problems] == ["p1", "p2", "p3"]
    assert problems[0].sample_indices == [0, 1, 2, 3] and problems[2].sample_indices == []
    out = str(files / "graded.jsonl")
    assert graded.grade_file(str(files / "c.jsonl"), out) == {"problems": 3, **counts}
    again, read_counts, source = graded.read_graded(out)
    assert again == problems and read_counts == counts
    assert source["candidates_file"] == str(files / "c.jsonl") and source["gold_file"] is None
    lines = [json.loads(line) for line in open(out)]
    assert lines[1]["cluster_correct"] == {"0": True, "1": False}  # JSON keys, ints again


def test_metrics_from_the_graded_file_equal_grading_the_candidates_directly(files):
    rows, _ = formats.read_candidates(str(files / "c.jsonl"))
    direct, direct_counts = grade_problems(rows, {}, SCORES)
    graded.grade_file(str(files / "c.jsonl"), str(files / "graded.jsonl"))
    problems, _, _ = graded.read_graded(str(files / "graded.jsonl"))
    joined, missing = with_scores(problems, SCORES)
    assert joined == direct and missing == direct_counts["missing_score"] == 1
    kw = dict(pass_ks=(1, 2, 4), maj_ks=(2,), rerank_k=2)
    assert [p.metrics(**kw) for p in joined] == [p.metrics(**kw) for p in direct]


def test_evaluate_from_its_graded_file_writes_the_same_report(files):
    kw = dict(scores_file=str(files / "s.jsonl"), pass_ks=(1, 4), maj_ks=(2,), rerank_k=2,
              num_bootstrap=20, curve_repeats=2)
    direct = evaluate(str(files / "c.jsonl"), str(files / "direct"), **kw)
    again = evaluate(graded_file=str(files / "direct" / "graded.jsonl"),
                     output_dir=str(files / "again"), **kw)
    assert not (files / "again" / "graded.jsonl").exists()  # read, not graded again
    for report in (direct, again):
        report["counts"].pop("seconds")
    assert again.pop("config").pop("graded_file") == str(files / "direct" / "graded.jsonl")
    direct.pop("config")
    assert again == direct and direct["counts"]["missing_score"] == 1


def test_evaluate_takes_candidates_or_a_graded_file(files):
    with pytest.raises(ConfigError, match="one of evaluate.candidates_file and "
                                          "evaluate.graded_file$") as neither:
        evaluate(output_dir=str(files / "o"))
    assert "not both" not in str(neither.value)
    graded.grade_file(str(files / "c.jsonl"), str(files / "g.jsonl"))
    with pytest.raises(ConfigError, match="not both"):
        evaluate(str(files / "c.jsonl"), str(files / "o"), graded_file=str(files / "g.jsonl"))
    with pytest.raises(ConfigError, match="already holds the gold answers"):
        evaluate(graded_file=str(files / "g.jsonl"), output_dir=str(files / "o"),
                 gold_file=str(files / "c.jsonl"))


@pytest.mark.parametrize("edit, why", [
    (lambda lines: lines[1:], r":1: the 'source' line must be the first line"),
    (lambda lines: lines[:1] + lines, r":2: the 'source' line must be the first line"),
    (lambda lines: [dict(lines[0], version=2)] + lines[1:], r":1: unsupported version 2"),
    (lambda lines: lines[:1] + [dict(lines[1], labels=[0, 7, 1, None])] + lines[2:],
     r":2: a label without a cluster_correct entry"),
    (lambda lines: lines[:1] + [dict(lines[1], answers=[])] + lines[2:],
     r":2: 4 sample_indices but 0 answers and 4 labels"),
    (lambda lines: [], r":1: no 'source' line"),
])
def test_a_malformed_graded_file_is_named_by_line(files, edit, why):
    path = files / "g.jsonl"
    graded.grade_file(str(files / "c.jsonl"), str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_bytes(formats.to_jsonl(edit(lines)))
    with pytest.raises(formats.RecordError, match=f"^{path}{why}"):
        graded.read_graded(str(path))
