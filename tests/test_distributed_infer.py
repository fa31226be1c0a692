"""Multi-host infer and score: two JAX processes on 127.0.0.1 (CPU, gloo) split every chunk's
problems between them, and the primary writes a candidates (scores) file byte-identical to
one process's."""

from __future__ import annotations

import json

import jax
import pytest

from mathft_jax import partitioning
from mathft_jax.params_source import load_params
from mathft_jax.training import checkpoints
from tests.test_distributed import _env, _free_port, run_workers
from tests.kit import BYTE_MODEL as MODEL, INFER_NUM_PROBLEMS as NUM_PROBLEMS


def _run(envs: list[dict], output_file, checkpoint, *extra) -> list[dict]:
    return run_workers("tests.infer_worker", [str(output_file), str(checkpoint), *extra], envs)


def _two_hosts() -> list[dict]:
    address = f"127.0.0.1:{_free_port()}"
    return [_env(MATHFT_COORDINATOR=address, MATHFT_NUM_PROCESSES="2", MATHFT_PROCESS_ID=str(i))
            for i in range(2)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("infer2")
    ckpt = tmp / "params"  # a real checkpoint, so each host restores it with Orbax
    mesh = partitioning.make_mesh(devices=jax.local_devices()[:1])
    checkpoints.export_params(ckpt, load_params(MODEL, "random_init", mesh).params)
    single = _run([_env()], tmp / "one.jsonl", ckpt)[0]
    two = _run(_two_hosts(), tmp / "two.jsonl", ckpt)
    return tmp, single, two


def test_two_process_candidates_are_byte_identical(runs):
    tmp, single, _ = runs
    one, two = (tmp / "one.jsonl").read_bytes(), (tmp / "two.jsonl").read_bytes()
    assert single["complete"] and single["rows_total"] == NUM_PROBLEMS * 4
    assert len(one.splitlines()) == NUM_PROBLEMS * 4
    assert two == one
    progress = [json.loads((tmp / f"{n}.jsonl.progress").read_text()) for n in ("one", "two")]
    assert progress[1] == progress[0] and progress[1]["complete"]


def test_both_hosts_decode_and_only_the_primary_writes(runs):
    _, _, two = runs
    primary, other = two
    assert primary["rows_total"] == NUM_PROBLEMS * 4 and primary["complete"]
    assert other["written_here"] is False and "rows_total" not in other
    # each host decoded the problems of its parity (and received all rows)
    assert primary["generated_tokens"] > 0 and other["generated_tokens"] > 0


def test_two_process_scores_are_byte_identical(runs):
    """The random-init model as the evaluator, on the single-host candidates."""
    tmp, _, _ = runs
    candidates = tmp / "scored.jsonl"  # the tiny task has no statements: give each one
    rows = [json.loads(line) for line in (tmp / "one.jsonl").read_text().splitlines()]
    candidates.write_text("".join(json.dumps({**r, "problem": r["problem_id"]}) + "\n"
                                  for r in rows))
    single = _run([_env()], tmp / "scores_one.jsonl", tmp / "params", "--score", str(candidates))[0]
    primary, other = _run(_two_hosts(), tmp / "scores_two.jsonl", tmp / "params", "--score",
                          str(candidates))
    one, two = (tmp / "scores_one.jsonl").read_bytes(), (tmp / "scores_two.jsonl").read_bytes()
    assert single["complete"] and single["rows_total"] == NUM_PROBLEMS * 3  # sampled rows
    assert len({json.loads(line)["score"] for line in one.splitlines()}) > 1
    assert two == one
    assert primary["complete"] and other["written_here"] is False
