"""`infer`'s parts that need no model, by hand: the decoding passes and the `sampling` field
they write, the prompts as decoded (cut from the front, BOS, the count of cut ones), the
stream decoder's requests and rows (the continuous decoder replaced by a scripted one) and
the summary. (`test_infer.py` decodes tiny models end to end.)"""

import json
import logging
import types

import numpy as np
import pytest

from mathft_jax import infer
from mathft_jax.chunked_output import Written
from mathft_jax.data.task_problems import Problem
from mathft_jax.decoding import Greedy, Sampling
from mathft_jax.decoding.continuous import Finished, Request
from mathft_jax.decoding.decode_loop import FINISH_EOS, FINISH_LENGTH, FINISH_STOP
from tests import kit

RULE = Sampling(temperature=0.7, top_k=5)
COMMON = {"seed": 5, "max_new_tokens": 4, "stop_strings": ["X"], "bos_id": None}
GREEDY_FIELD = {"name": "greedy", **COMMON}
SAMPLE_FIELD = {"name": "sample", "temperature": 0.7, "top_k": 5, "top_p": None, "min_p": None,
                **COMMON}


def test_the_passes_greedy_first_then_the_samples():
    assert infer._passes(True, 2, RULE, 5, 4, ("X",), None) == [
        ("greedy", Greedy(), 1, GREEDY_FIELD), ("sample", RULE, 2, SAMPLE_FIELD)]
    assert infer._passes(False, 3, RULE, 1, 8, ["\n\n", "Y"], 2) == [
        ("sample", RULE, 3, {**SAMPLE_FIELD, "seed": 1, "max_new_tokens": 8,
                             "stop_strings": ["\n\n", "Y"], "bos_id": 2})]
    assert infer._passes(True, 0, RULE, 0, 1, (), 0) == [
        ("greedy", Greedy(), 1, {"name": "greedy", "seed": 0, "max_new_tokens": 1,
                                 "stop_strings": [], "bos_id": 0})]
    assert infer._passes(False, 0, RULE, 0, 1, (), None) == []


def _problem(index: int, prompt=(4, 5, 6)) -> Problem:
    return Problem(index=index, problem_id=f"p{index}", prompt=list(prompt), gold_answer="2",
                   level="Level 1", subject="Algebra", problem=f"problem {index}")


def test_prompts_are_cut_from_the_front_to_leave_room_for_bos():
    prompts = infer._Prompts(bos_id=0, max_prompt_length=3)
    assert prompts.of(_problem(0, [4, 5, 6, 7])) == (0, 6, 7)
    assert prompts.of(_problem(1, [4, 5])) == (0, 4, 5)  # fits: not counted
    assert prompts.of(_problem(2, [4, 5, 6])) == (0, 5, 6)
    assert prompts.truncated == 2
    prompts = infer._Prompts(bos_id=None, max_prompt_length=2)
    assert prompts.of(_problem(0, [4, 5, 6])) == (5, 6) and prompts.of(_problem(1, [4, 5])) == (
        4, 5)
    assert prompts.truncated == 1
    prompts = infer._Prompts(bos_id=9, max_prompt_length=None)
    got = prompts.of(_problem(0, np.array([4, 5, 6, 7], np.int32)))
    assert got == (9, 4, 5, 6, 7) and all(type(t) is int for t in got)
    assert prompts.truncated == 0
    assert infer._Prompts(None, None).of(_problem(0, [4])) == (4,)
    assert infer._Prompts(9, None).of(_problem(0, [])) == (9,)


def test_an_empty_prompt_is_an_error():
    with pytest.raises(infer.InferError) as raised:
        infer._Prompts(None, 4).of(_problem(3, []))
    assert str(raised.value) == "empty prompt for problem p3"


def _ids(text: str) -> list[int]:
    return list(kit.BYTES.encode(text))


class _Engine:
    """The continuous decoder's `run`, scripted: records the requests and returns the given
    (tag, tokens, logprobs, finish code) results in the given order."""

    def __init__(self, results):
        self.results, self.requests = results, None

    def run(self, requests):
        self.requests = list(requests)
        by_tag = {r.tag: r for r in self.requests}
        for tag, tokens, logprobs, finish in self.results:
            yield Finished(by_tag[tag], np.asarray(tokens, np.int32),
                           np.asarray(logprobs, np.float32), finish)


EOS = kit.BYTES.eos_id
RESULTS = [  # (problem index, pass, sample index) in the order the rows finish
    ((9, 1, 1), _ids("aaaa"), [-1, -1, -1, -1], FINISH_LENGTH),
    ((7, 0, 0), _ids("ab") + [EOS], [-1, -2, -4, 0], FINISH_EOS),
    ((9, 0, 0), _ids("c") + [EOS], [-8, -16, 0, 0], FINISH_EOS),
    ((7, 1, 1), _ids("cXd"), [-1, -2, -4, 0], FINISH_LENGTH),  # cut before the stop string X
    ((9, 1, 0), _ids("bX"), [-.5, -.25, 0, 0], FINISH_STOP),
    ((7, 1, 0), _ids("dd") + [EOS], [-2, -2, -2, 0], FINISH_EOS),
]


def _row(index, sample, decoding, text, logprob, num_tokens, reason) -> dict:
    return {"version": 1, "problem_id": f"p{index}", "sample_index": sample,
            "decoding": decoding, "text": text, "logprob": logprob, "num_tokens": num_tokens,
            "finish_reason": reason, "checkpoint": "ckpt",
            "sampling": GREEDY_FIELD if decoding == "greedy" else SAMPLE_FIELD,
            "gold_answer": "2", "level": "Level 1", "subject": "Algebra",
            "problem": f"problem {index}"}


def test_the_stream_decoder_yields_each_problem_s_rows_in_file_order_when_all_are_done():
    engine = _Engine(RESULTS)
    decoder = infer._StreamDecoder(
        vocab=kit.BYTES, checkpoint="ckpt", passes=infer._passes(True, 2, RULE, 5, 4, ("X",),
                                                                  None),
        stop_strings=("X",), prompts=infer._Prompts(None, None, truncated=3), engine=engine)
    assert decoder.truncated == 3
    out = list(decoder.rows([(_problem(7), (1, 2)), (_problem(9), (3,))]))
    assert engine.requests == [
        Request((1, 2), 7, 0, True, (7, 0, 0)), Request((1, 2), 7, 0, False, (7, 1, 0)),
        Request((1, 2), 7, 1, False, (7, 1, 1)), Request((3,), 9, 0, True, (9, 0, 0)),
        Request((3,), 9, 0, False, (9, 1, 0)), Request((3,), 9, 1, False, (9, 1, 1))]
    assert out == [
        (9, [_row(9, 0, "greedy", "c", -24.0, 2, "eos"),
             _row(9, 0, "sample", "b", -0.75, 2, "eos"),
             _row(9, 1, "sample", "aaaa", -4.0, 4, "length")]),
        (7, [_row(7, 0, "greedy", "ab", -7.0, 3, "eos"),
             _row(7, 0, "sample", "dd", -6.0, 3, "eos"),
             _row(7, 1, "sample", "c", -3.0, 2, "eos")])]
    assert decoder.tokens == 4 + 3 + 2 + 3 + 2 + 3  # every generated token, cut ones too


def test_the_summary_by_hand(capsys, caplog):
    out = types.SimpleNamespace(problems_done=5, progress={"rows": 15}, complete=True,
                                path="/runs/c.jsonl")
    decoder = types.SimpleNamespace(tokens=100, truncated=3)
    caplog.set_level(logging.INFO)
    got = infer._summary(out, Written(problems=2, rows=6, finished=True), decoder, 3.14159, 64)
    expected = {"problems_written": 2, "rows_written": 6, "problems_total": 5,
                "rows_total": 15, "generated_tokens": 100, "seconds": 3.142,
                "tokens_per_second": 31.8, "prompts_truncated": 3, "complete": True,
                "output_file": "/runs/c.jsonl"}
    assert got == expected
    assert capsys.readouterr().out == json.dumps(expected) + "\n"
    assert [r.getMessage() for r in caplog.records] == [
        "3 prompts were longer than max_prompt_length=64 and were cut from the front",
        f"infer summary: {expected}"]
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]


def test_a_summary_without_time_or_cut_prompts(capsys, caplog):
    out = types.SimpleNamespace(problems_done=0, progress={"rows": 0}, complete=False,
                                path="c.jsonl")
    caplog.set_level(logging.INFO)
    got = infer._summary(out, Written(0, 0, False), types.SimpleNamespace(
        tokens=0, truncated=0), 0.0, None)
    assert got["seconds"] == 0.0 and got["tokens_per_second"] is None
    assert got["complete"] is False and got["prompts_truncated"] == 0
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert json.loads(capsys.readouterr().out) == got
    # Under a second still has a rate.
    quick = infer._summary(out, Written(1, 3, False), types.SimpleNamespace(
        tokens=3, truncated=0), 0.25, None)
    assert quick["seconds"] == 0.25 and quick["tokens_per_second"] == 12.0
