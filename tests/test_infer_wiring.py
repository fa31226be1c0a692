"""`infer` itself without a model: the task's problems, the parameters, the mesh and the
continuous decoder replaced by recorders (the decoder scripted: each row's text names its
problem and sample), so every setting's way into the decoder, the progress record, the
file's rows, the progress bar and the summary is checked by hand. (`test_infer.py` decodes a
tiny model end to end; `test_infer_parts.py` checks the helpers.)"""

import dataclasses
import json
import logging
import types
from pathlib import Path

import numpy as np
import pytest

from mathft_jax import infer as infer_module
from mathft_jax import partitioning
from mathft_jax.chunked_output import ChunkedOutput
from mathft_jax.data.task_problems import Problem
from mathft_jax.decoding import Greedy, Sampling
from mathft_jax.decoding.continuous import Finished, Request
from mathft_jax.decoding.decode_loop import FINISH_EOS
from mathft_jax.errors import ConfigError
from mathft_jax.params_source import LoadedParams
from tests import kit

MODEL = kit.BYTE_MODEL
VOCAB = kit.BYTES  # token = byte + 3; EOS 1, pad 0, 259 ids
RULE = Sampling(temperature=0.7, top_k=5)
PROMPTS = [list(range(10, 24)), [4, 5, 6], [7], [8, 9], [10, 11, 12, 13]]  # 14 ids, then short
MESH = object()


def _first_line(error: Exception) -> str:
    """An error's own message (gin adds a line naming the configurable)."""
    return str(error).split("\n")[0]


def _ids(text: str) -> list[int]:
    return [b + 3 for b in text.encode()]


class _Engine:
    """The continuous decoder, scripted: records its settings and every request, and finishes
    the requests in order, a greedy row as "g<problem>" + EOS, a sample as "s<problem>.<n>"
    + EOS, each token at log-prob -1."""

    made: list = []

    def __init__(self, **settings):
        self.settings, self.requests = settings, []
        _Engine.made.append(self)

    def run(self, requests):
        for request in requests:
            self.requests.append(request)
            text = (f"g{request.seed_id}" if request.greedy
                    else f"s{request.seed_id}.{request.sample_index}")
            tokens = _ids(text) + [VOCAB.eos_id]
            logprobs = np.zeros(self.settings["max_new_tokens"], np.float32)
            logprobs[:len(tokens)] = -1
            yield Finished(request, np.asarray(tokens, np.int32), logprobs, FINISH_EOS)


class _Clock:
    """`time.time()` for infer: the start at 100 s, every later reading at 100.5 s."""

    def __init__(self):
        self.readings = 0

    def time(self) -> float:
        self.readings += 1
        return 100.0 if self.readings == 1 else 100.5


@pytest.fixture
def fakes(monkeypatch):
    """Recorders in place of the task, the parameters, the mesh, the decoder and the clock."""
    calls = types.SimpleNamespace(read=[], load=[], mesh=[], clock=_Clock(), bos_id=2)
    _Engine.made = []

    def read_problems(name, split, max_problems):
        calls.read.append((name, split, max_problems))
        problems = [Problem(index=i, problem_id=f"t/{i}", prompt=list(p), gold_answer=str(i),
                            level=f"Level {i + 1}", subject="Algebra", problem=f"problem {i}")
                    for i, p in enumerate(PROMPTS)]
        return iter(problems), len(problems), VOCAB

    def load_params(config, checkpoint, mesh):
        calls.load.append((config, checkpoint, mesh))
        return LoadedParams(params="PARAMS", bos_id=calls.bos_id)

    def make_mesh(**kwargs):
        calls.mesh.append(kwargs)
        return MESH

    monkeypatch.setattr(infer_module, "read_problems", read_problems)
    monkeypatch.setattr(infer_module, "load_params", load_params)
    monkeypatch.setattr(partitioning, "make_mesh", make_mesh)
    monkeypatch.setattr(infer_module, "ContinuousDecoder", _Engine)
    monkeypatch.setattr(infer_module, "time", calls.clock)
    return calls


SETTINGS = dict(model_config=MODEL, checkpoint="random_init", mixture_or_task_name="a_task",
                split="train", greedy=True, num_samples=2, sampling=RULE, max_new_tokens=5,
                batch_size=3, chunk_problems=2, max_problems=5, seed=4, stop_strings=("X",),
                max_prompt_length=12, prepend_bos=True)


def _row(i: int, decoding: str, n: int, text: str) -> dict:
    """A written row: its text + EOS, every token at -1."""
    sampling = ({"name": "greedy"} if decoding == "greedy" else
                {"name": "sample", "temperature": 0.7, "top_k": 5, "top_p": None,
                 "min_p": None})
    return {"version": 1, "problem_id": f"t/{i}", "sample_index": n, "decoding": decoding,
            "text": text, "logprob": -(len(text) + 1.0), "num_tokens": len(text) + 1,
            "finish_reason": "eos", "checkpoint": "random_init",
            "sampling": {**sampling, "seed": 4, "max_new_tokens": 5, "stop_strings": ["X"],
                         "bos_id": 2},
            "gold_answer": str(i), "level": f"Level {i + 1}", "subject": "Algebra",
            "problem": f"problem {i}"}


def _rows_of(i: int) -> list[dict]:
    return [_row(i, "greedy", 0, f"g{i}"), _row(i, "sample", 0, f"s{i}.0"),
            _row(i, "sample", 1, f"s{i}.1")]


def _requests(i: int, prompt: tuple) -> list[Request]:
    return [Request(prompt, i, 0, True, (i, 0, 0)), Request(prompt, i, 0, False, (i, 1, 0)),
            Request(prompt, i, 1, False, (i, 1, 1))]


def test_a_run_in_two_calls_by_hand(fakes, tmp_path, capsys, caplog):
    import jax
    out = tmp_path / "c.jsonl"
    caplog.set_level(logging.INFO)
    first = infer_module.infer(output_file=str(out), max_chunks=2, **SETTINGS)
    # 4 problems of 13 tokens each (g<i> 3, s<i>.<n> 5 twice) in the 0.5 s between readings.
    assert first == {"problems_written": 4, "rows_written": 12, "problems_total": 4,
                     "rows_total": 12, "generated_tokens": 52, "seconds": 0.5,
                     "tokens_per_second": 104.0, "prompts_truncated": 1, "complete": False,
                     "output_file": str(out)}
    assert fakes.read == [("a_task", "train", 5)]
    assert fakes.mesh == [{"devices": jax.local_devices()}]
    assert fakes.load == [(MODEL, "random_init", MESH)]
    (engine,) = _Engine.made
    rng = engine.settings.pop("rng")
    assert np.array_equal(np.asarray(rng), np.asarray(jax.random.PRNGKey(4)))
    # 3 problems of 3 rows; the 14-id prompt cut to its last 11 ids + BOS 2: bucket 16.
    assert engine.settings == dict(
        params="PARAMS", config=MODEL, rows=9, group_rows=3, prompt_bucket=16,
        max_new_tokens=5, sampling=RULE, eos_id=1, pad_id=0, stop_sequences=[[91]],
        mesh=MESH, logical_axis_rules=partitioning.DEFAULT_RULES)
    bos = lambda ids: (2, *ids)
    assert engine.requests == (_requests(0, bos(range(13, 24))) + _requests(1, bos(PROMPTS[1]))
                               + _requests(2, bos(PROMPTS[2])) + _requests(3, bos(PROMPTS[3])))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == _rows_of(0) + _rows_of(1) + _rows_of(2) + _rows_of(3)
    progress = json.loads(Path(f"{out}.progress").read_text())
    assert progress["settings"] == {
        "checkpoint": "random_init", "mixture_or_task_name": "a_task", "split": "train",
        "greedy": True, "num_samples": 2,
        "sampling": {"name": "sample", "temperature": 0.7, "top_k": 5, "top_p": None,
                     "min_p": None},
        "max_new_tokens": 5, "batch_size": 3, "chunk_problems": 2, "max_problems": 5,
        "seed": 4, "stop_strings": ["X"], "max_prompt_length": 12,
        "model_config": json.loads(json.dumps(dataclasses.asdict(MODEL))), "bos_id": 2}
    assert progress["problems_done"] == 4 and not progress["complete"]
    assert not Path(f"{out}.lock").exists()  # released when the call returns
    # The bar's postfix after each chunk: tokens so far over the 0.5 s, rows in the file.
    bar = capsys.readouterr().err
    assert "rows=6, tok_s=52]" in bar and "rows=12, tok_s=104]" in bar
    assert "1 prompts were longer than max_prompt_length=12 and were cut from the front" in [
        r.getMessage() for r in caplog.records]

    # The rest: one problem; the bucket still counts the first chunk's long prompt.
    fakes.clock.readings = 0
    second = infer_module.infer(output_file=str(out), show_progress=False, **SETTINGS)
    assert second == {"problems_written": 1, "rows_written": 3, "problems_total": 5,
                      "rows_total": 15, "generated_tokens": 13, "seconds": 0.5,
                      "tokens_per_second": 26.0, "prompts_truncated": 1, "complete": True,
                      "output_file": str(out)}
    assert _Engine.made[1].settings["prompt_bucket"] == 16
    assert _Engine.made[1].requests == _requests(4, bos(PROMPTS[4]))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[12:] == _rows_of(4)
    assert capsys.readouterr().err == ""  # no bar


def test_greedy_only_on_a_host_that_does_not_write(fakes, tmp_path, monkeypatch):
    """Host 1 of 2: no file, no summary; its share of each chunk decoded (problems 1 and 3),
    the settings as they would be recorded (no sampling, no BOS, chunks of batch_size)."""
    opened = []
    partner = iter([[0], [2], [4]])  # host 0's share of each chunk

    def open_(path, settings, *, overwrite, units, chunk_size):
        opened.append((path, settings, overwrite, units, chunk_size))
        gather = lambda part: [[(i, [{"host": 0}]) for i in next(partner)], part]
        return ChunkedOutput(None, 0, units, chunk_size, hosts=2, me=1, gather=gather)

    monkeypatch.setattr(ChunkedOutput, "open", open_)
    out = str(tmp_path / "c.jsonl")
    settings = {k: v for k, v in SETTINGS.items() if k != "split"}  # "test" by default
    got = infer_module.infer(output_file=out, **{
        **settings, "num_samples": 0, "batch_size": 2, "chunk_problems": None,
        "max_prompt_length": None, "prepend_bos": False, "stop_strings": (), "overwrite": True})
    assert got == {"problems_written": 5, "rows_written": 5, "generated_tokens": 6,
                   "complete": True, "output_file": out, "written_here": False}
    ((path, settings, overwrite, units, chunk_size),) = opened
    assert (path, overwrite, units, chunk_size) == (out, True, 5, 2)
    assert settings == {
        "checkpoint": "random_init", "mixture_or_task_name": "a_task", "split": "test",
        "greedy": True, "num_samples": 0, "sampling": None, "max_new_tokens": 5,
        "batch_size": 2, "chunk_problems": 2, "max_problems": 5, "seed": 4, "stop_strings": [],
        "max_prompt_length": None, "model_config": dataclasses.asdict(MODEL)}
    assert fakes.read == [("a_task", "test", 5)]
    (engine,) = _Engine.made
    assert engine.settings["sampling"] == Greedy() and engine.settings["stop_sequences"] == []
    assert (engine.settings["rows"], engine.settings["group_rows"]) == (2, 1)
    assert engine.settings["prompt_bucket"] == 16  # the 14-id prompt, uncut
    assert engine.requests == [Request(tuple(PROMPTS[i]), i, 0, True, (i, 0, 0)) for i in (1, 3)]


def test_a_model_with_fewer_ids_than_the_vocabulary_is_refused_before_loading(fakes, tmp_path):
    with pytest.raises(infer_module.InferError) as raised:
        infer_module.infer(output_file=str(tmp_path / "c.jsonl"), **{
            **SETTINGS, "model_config": dataclasses.replace(MODEL, vocab_size=258)})
    assert _first_line(raised.value) == ("the task's vocabulary has 259 ids but the model only 258 "
                                 "(ModelConfig.vocab_size)")
    assert fakes.load == [] and _Engine.made == []


@pytest.mark.parametrize("changes, message", [
    ({"num_samples": -1}, "infer.num_samples must be >= 0, got -1"),
    ({"max_new_tokens": 0}, "infer.max_new_tokens must be >= 1, got 0"),
    ({"batch_size": 0}, "infer.batch_size must be >= 1, got 0"),
    ({"chunk_problems": 0}, "infer.chunk_problems must be None or >= 1, got 0"),
    ({"max_problems": 0}, "infer.max_problems must be None or >= 1, got 0"),
    ({"max_chunks": 0}, "infer.max_chunks must be None or >= 1, got 0"),
    ({"max_prompt_length": 1}, "infer.max_prompt_length must be None or >= 2, got 1"),
    ({"bos_id": -1}, "infer.bos_id must be None or >= 0, got -1"),
    ({"greedy": False, "num_samples": 0},
     "nothing to decode: set infer.greedy = True or infer.num_samples > 0"),
    ({"sampling": Greedy()}, "infer.sampling must be a Sampling(...) rule, got Greedy()"),
    ({"checkpoint": "no/such/run"}, "infer.checkpoint no/such/run: no such file or directory"),
])
def test_each_setting_is_checked_before_anything_runs(fakes, tmp_path, changes, message):
    out = tmp_path / "c.jsonl"
    with pytest.raises(ConfigError) as raised:
        infer_module.infer(output_file=str(out), **{**SETTINGS, **changes})
    assert _first_line(raised.value) == message
    assert fakes.read == [] and fakes.load == [] and not out.exists()


def test_the_output_file_is_checked_and_locked(fakes, tmp_path):
    from mathft_jax.training import run_lock
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(ConfigError) as raised:
        infer_module.infer(output_file=str(folder), **SETTINGS)
    assert _first_line(raised.value) == f"infer.output_file {folder}: is a folder, expected a file"
    out = tmp_path / "c.jsonl"

    @run_lock.releases_locks
    def other_run():
        run_lock.hold_output(out, "infer.output_file")
        with pytest.raises(run_lock.RunInUseError, match=r"choose another infer\.output_file"):
            infer_module.infer(output_file=str(out), **SETTINGS)

    other_run()
    assert fakes.read == [] and not out.exists()


def test_bos_from_the_setting_else_the_checkpoint_else_an_error(fakes, tmp_path):
    from mathft_jax.params_source import ParamsSourceError
    infer_module.infer(output_file=str(tmp_path / "a.jsonl"), **{**SETTINGS, "bos_id": 7})
    assert _Engine.made[0].requests[-1].prompt == (7, *PROMPTS[4])
    fakes.bos_id = None  # the byte vocabulary has no BOS either
    with pytest.raises(ParamsSourceError) as raised:
        infer_module.infer(output_file=str(tmp_path / "b.jsonl"), **SETTINGS)
    assert _first_line(raised.value) == (
        "infer.prepend_bos = True but neither the checkpoint nor the vocabulary has a BOS id: "
        "bind infer.bos_id")


def test_a_split_without_problems_writes_an_empty_complete_file(fakes, tmp_path, monkeypatch):
    """No problem to decode: the prompt bucket is that of a one-token prompt and the file is
    empty and complete (not a `max()` of nothing)."""
    monkeypatch.setattr(infer_module, "read_problems", lambda *args: (iter([]), 0, VOCAB))
    out = tmp_path / "c.jsonl"
    summary = infer_module.infer(**{**SETTINGS, "output_file": str(out)}, show_progress=False)
    assert (summary["rows_written"], summary["complete"]) == (0, True)
    assert out.read_text() == ""
    assert _Engine.made[0].settings["prompt_bucket"] == 8  # bucket_length(1): the smallest
