"""ChunkedOutput: the chunk layout, resuming after a cut chunk, two hosts, changed settings.

No model: each unit's rows are made up (`_rows`), and two hosts are two threads whose
`gather` meets at a barrier, standing in for `distributed.gather_json`
(tests/test_distributed_infer.py runs the real two-process case through infer and score).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mathft_jax.chunked_output import ChunkedOutput, Written
from mathft_jax.resumable_jsonl import ResumableJsonl, ResumeError

SETTINGS = {"seed": 0}
UNITS, CHUNK = 10, 4


def _rows(i: int) -> list[dict]:
    """Unit i's rows: 1 to 3 of them, so chunks differ in rows."""
    return [{"unit": i, "row": k} for k in range(i % 3 + 1)]


def _results(units, pulled: list | None = None):
    for i in units:
        if pulled is not None:
            pulled.append(i)
        yield i, _rows(i)


def _open(path, settings=SETTINGS, overwrite=False) -> ChunkedOutput:
    return ChunkedOutput.open(str(path), settings, overwrite=overwrite, units=UNITS,
                              chunk_size=CHUNK)


@pytest.fixture
def reference(tmp_path):
    """An uninterrupted one-host run's file."""
    output = _open(tmp_path / "ref.jsonl")
    assert output.write(_results(output.mine()), show_progress=False) == Written(
        problems=UNITS, rows=sum(len(_rows(i)) for i in range(UNITS)), finished=True)
    return (tmp_path / "ref.jsonl").read_bytes()


def test_the_module_docstring_layout():
    """10 units, chunks of 4, 2 hosts, 4 units already done."""
    hosts = [ChunkedOutput(None, 4, UNITS, CHUNK, hosts=2, me=me) for me in range(2)]
    assert hosts[0].chunks == [range(4, 8), range(8, 10)] == hosts[1].chunks
    assert hosts[0].shares() == [[4, 6], [8]] and hosts[1].shares() == [[5, 7], [9]]
    assert hosts[0].mine() == [4, 6, 8] and hosts[1].mine() == [5, 7, 9]


def test_rows_are_written_in_unit_order_whatever_order_they_arrive_in(tmp_path, reference):
    output = _open(tmp_path / "c.jsonl")
    shuffled = [3, 1, 0, 2, 7, 4, 6, 5, 9, 8]
    output.write(_results(shuffled), show_progress=False)
    assert (tmp_path / "c.jsonl").read_bytes() == reference
    assert output.out.complete and output.out.problems_done == UNITS


def test_resume_after_a_cut_chunk_writes_the_uninterrupted_file(tmp_path, reference):
    path = tmp_path / "c.jsonl"
    output, pulled = _open(path), []
    first = output.write(_results(output.mine(), pulled), max_chunks=1, show_progress=False)
    assert first == Written(problems=CHUNK, rows=sum(len(_rows(i)) for i in range(CHUNK)),
                            finished=False)
    assert pulled == list(range(CHUNK))  # nothing after the last written chunk was computed
    assert not output.out.complete
    with open(path, "ab") as f:  # the next chunk, cut by a kill before its progress record
        f.write(b'{"unit": 4, "ro')
    resumed = _open(path)
    assert resumed.done == CHUNK and resumed.chunks == [range(4, 8), range(8, 10)]
    second = resumed.write(_results(resumed.mine()), show_progress=False)
    assert second.problems == UNITS - CHUNK and second.finished
    assert path.read_bytes() == reference and resumed.out.complete
    # A finished file is left alone.
    again = _open(path)
    assert again.chunks == [] and again.write(iter(()), show_progress=False) == Written(
        problems=0, rows=0, finished=True)
    assert path.read_bytes() == reference


def test_max_chunks_equal_to_the_chunks_left_finishes_the_file(tmp_path, reference):
    output = _open(tmp_path / "c.jsonl")
    assert output.write(_results(output.mine()), max_chunks=3, show_progress=False).finished
    assert output.out.complete and (tmp_path / "c.jsonl").read_bytes() == reference


class _Hosts:
    """`n` hosts as threads: `gather(me)` is host me's `distributed.gather_json`, which
    returns every host's value (as JSON carries it) once all hosts have given theirs."""

    def __init__(self, n: int):
        self._meet = threading.Barrier(n, timeout=60)
        self._values: list = [None] * n

    def gather(self, me: int):
        def gather(value) -> list:
            self._values[me] = json.loads(json.dumps(value))
            self._meet.wait()
            values = list(self._values)
            self._meet.wait()  # nobody overwrites a value before every host has read them
            return values
        return gather


def test_two_hosts_compute_their_shares_and_the_primary_writes_the_one_host_file(
        tmp_path, reference):
    path = tmp_path / "c.jsonl"
    hosts, pulled = _Hosts(2), [[], []]

    def host(me: int) -> Written:
        out = ResumableJsonl.open(str(path), SETTINGS, overwrite=False) if me == 0 else None
        output = ChunkedOutput(out, 0, UNITS, CHUNK, hosts=2, me=me, gather=hosts.gather(me))
        # each host's results arrive in reverse within a chunk (as a decoder may finish them)
        late_first = [i for share in output.shares() for i in reversed(share)]
        return output.write(_results(late_first, pulled[me]), show_progress=False)

    with ThreadPoolExecutor(2) as pool:
        written = [future.result(timeout=120) for future in
                   [pool.submit(host, me) for me in range(2)]]
    assert pulled == [[2, 0, 6, 4, 8], [3, 1, 7, 5, 9]]
    assert written[0] == written[1] == Written(
        problems=UNITS, rows=sum(len(_rows(i)) for i in range(UNITS)), finished=True)
    assert path.read_bytes() == reference
    assert json.loads((tmp_path / "c.jsonl.progress").read_text())["complete"]


def test_a_changed_setting_is_refused_and_overwrite_starts_over(tmp_path):
    path = tmp_path / "c.jsonl"
    output = _open(path)
    output.write(_results(output.mine()), max_chunks=1, show_progress=False)
    with pytest.raises(ResumeError, match=r"different settings \(seed: 0 -> 1\); delete it"):
        _open(path, {"seed": 1})
    fresh = _open(path, {"seed": 1}, overwrite=True)
    assert fresh.done == 0 and fresh.chunks[0] == range(0, CHUNK) and path.read_bytes() == b""


def test_results_that_end_before_a_chunk_is_done_are_an_error(tmp_path):
    output = _open(tmp_path / "c.jsonl")
    with pytest.raises(RuntimeError, match=r"ended before unit 5 of chunk 4\.\.7"):
        output.write(_results([0, 1, 2, 3, 4]), show_progress=False)
    assert output.out.problems_done == CHUNK and not output.out.complete


def test_one_host_by_default():
    output = ChunkedOutput(None, 3, 7, 2)
    assert (output.hosts, output.me) == (1, 0)
    assert output.mine() == [3, 4, 5, 6] and output.chunks == [range(3, 5), range(5, 7)]


def test_a_write_stopped_early_closes_the_results_generator(tmp_path):
    closed = []

    def results():
        try:
            yield from _results(range(UNITS))
        finally:
            closed.append(True)

    pulled = results()  # held here, so only an explicit close() runs its `finally` now
    written = _open(tmp_path / "c.jsonl").write(pulled, max_chunks=1, show_progress=False)
    assert written == Written(problems=4, rows=1 + 2 + 3 + 1, finished=False)
    assert closed == [True]


def test_the_progress_bar_counts_problems_from_the_resumed_point(tmp_path, capsys):
    path = tmp_path / "c.jsonl"
    _open(path).write(_results(range(4)), max_chunks=1, show_progress=False)
    assert capsys.readouterr().err == ""
    output = _open(path)
    output.write(_results(output.mine()))  # shown by default on the primary host
    err = capsys.readouterr().err
    assert "10/10" in err and "problem/s" in err and "4/10" in err
    # Another host (no file) shows nothing; neither does show_progress=False.
    ChunkedOutput(None, 0, UNITS, CHUNK).write(_results(range(UNITS)))
    _open(tmp_path / "d.jsonl").write(_results(range(UNITS)), show_progress=False)
    assert capsys.readouterr().err == ""
