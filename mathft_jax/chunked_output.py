"""Writes a tool's rows chunk by chunk into a resumable file, sharded over hosts (infer, score).

Both tools turn a list of units (problems) into rows the same way: the units are cut into
chunks of `chunk_size` consecutive units; a rerun skips the chunks the file already holds
(`resumable_jsonl.ResumableJsonl`: same settings, or the run is refused and the changed
settings are named); host h computes the units i of each chunk with i mod hosts == h; every
chunk's rows are gathered to every host (`distributed.gather_json`), and the primary host alone
appends them, in unit order, and records its progress. A chunk is therefore written as one
host would write it, and a killed run resumes at a chunk boundary.

Example: 10 units, `chunk_size=4`, 2 hosts, a resumed file that already holds 4 units:

    units          0 1 2 3 | 4 5 6 7 | 8 9
    chunks         (done)  | chunk 0 | chunk 1
    host 0 computes          4 6       8
    host 1 computes          5 7       9
    file rows      rows(0..3), then rows(4), rows(5), rows(6), rows(7), then rows(8), rows(9)

In code (`mine` lists 4, 6, 8 on host 0 and 5, 7, 9 on host 1; `shares` the same per chunk):

    output = ChunkedOutput.open("out.jsonl", settings, overwrite=False, units=10,
                                chunk_size=4)
    written = output.write((i, rows_of(i)) for i in output.mine())

The results may arrive in any order (infer's continuous decoder finishes problems out of
order) and lazily: the driver pulls them only until the next chunk's share is complete, so
with `max_chunks` nothing after the last written chunk is computed.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import jax
from tqdm import tqdm

from mathft_jax import distributed
from mathft_jax.resumable_jsonl import ResumableJsonl

Results = Iterable[tuple[int, list[dict]]]


@dataclasses.dataclass(frozen=True)
class Written:
    """What one `ChunkedOutput.write` call wrote.

    Attributes:
      problems: units of the chunks written in this call (on every host, written or not).
      rows: their rows.
      finished: every chunk was written (False when `max_chunks` stopped the call).
    """

    problems: int
    rows: int
    finished: bool


class ChunkedOutput:
    """The chunks left to write to one output, and this host's share of each (module doc).

    Attributes:
      out: the file, on the primary host; None on the others.
      done: units the file already held when it was opened.
      units: all units of the run, done ones included.
      chunks: the chunks left, each a range of unit indices, in file order.
    """

    def __init__(self, out: Optional[ResumableJsonl], done: int, units: int, chunk_size: int,
                 hosts: int = 1, me: int = 0,
                 gather: Callable[[Any], list] = distributed.gather_json):
        """Use `open`; the arguments after `chunk_size` let tests play several hosts.

        Args:
          out: the opened file (None on hosts other than the primary).
          done: units already in the file.
          units: all units of the run.
          chunk_size: units per chunk (the unit of resuming).
          hosts: the number of hosts; me: this host's index.
          gather: every host's JSON value, in host order (called on every host at once).
        """
        self.out, self.done, self.units = out, done, units
        self.hosts, self.me, self._gather = hosts, me, gather
        self.chunks = [range(first, min(first + chunk_size, units))
                       for first in range(done, units, chunk_size)]

    @classmethod
    def open(cls, path: str, settings: Mapping, *, overwrite: bool, units: int,
             chunk_size: int) -> "ChunkedOutput":
        """Opens (or continues) `path` on the primary host; every host learns what is done.

        Raises:
          resumable_jsonl.ResumeError: the file exists with other settings, without its
            progress record, or damaged (on the other hosts: the primary could not open it).
        """
        out, done = ResumableJsonl.open_on_primary(path, settings, overwrite)
        return cls(out, done, units, chunk_size, jax.process_count(), jax.process_index())

    def share(self, chunk: range) -> list[int]:
        """The units of `chunk` this host computes."""
        return [i for i in chunk if i % self.hosts == self.me]

    def shares(self) -> list[list[int]]:
        """This host's share of each chunk left, in file order."""
        return [self.share(chunk) for chunk in self.chunks]

    def mine(self) -> list[int]:
        """Every unit left that this host computes, in file order."""
        return [i for share in self.shares() for i in share]

    def write(self, results: Results, *, max_chunks: Optional[int] = None,
              show_progress: bool = True,
              postfix: Optional[Callable[[], Mapping[str, Any]]] = None) -> Written:
        """Writes the chunks left from this host's results; marks the file complete at the end.

        Args:
          results: (unit, its rows) for every unit of `mine()`, in any order; pulled lazily.
          max_chunks: write at most this many chunks in this call (tests, time-sliced jobs).
          show_progress: a tqdm bar over units (on the primary host).
          postfix: fields shown after the bar, asked for after each chunk is written.

        Returns:
          The units and rows of the chunks written in this call, and whether all were.
        """
        bar = tqdm(total=self.units, initial=self.done, unit="problem",
                   disable=not show_progress or self.out is None, dynamic_ncols=True)
        results = iter(results)
        held: dict[int, list[dict]] = {}
        problems = rows_written = 0
        finished = True
        try:
            for count, chunk in enumerate(self.chunks):
                if max_chunks is not None and count >= max_chunks:
                    finished = False
                    break
                rows = self._rows(chunk, results, held)
                problems, rows_written = problems + len(chunk), rows_written + len(rows)
                bar.update(len(chunk))
                if self.out is not None:
                    self.out.append(rows, problems=len(chunk))
                    if postfix is not None:
                        bar.set_postfix(**postfix())
        finally:
            bar.close()
            close = getattr(results, "close", None)
            if close is not None:  # a generator: stop its work (infer's decoder) now
                close()
        if finished and self.out is not None:
            self.out.mark_complete()
        return Written(problems=problems, rows=rows_written, finished=finished)

    def _rows(self, chunk: range, results: Iterator[tuple[int, list[dict]]],
              held: dict[int, list[dict]]) -> list[dict]:
        """`chunk`'s rows in unit order, every host's share gathered to every host."""
        share = self.share(chunk)
        while missing := [i for i in share if i not in held]:
            try:
                index, rows = next(results)
            except StopIteration:
                raise RuntimeError(f"the results ended before unit {missing[0]} of chunk "
                                   f"{chunk.start}..{chunk.stop - 1} was done") from None
            held[index] = rows
        by_unit = {i: held.pop(i) for i in share}
        if self.hosts > 1:
            by_unit = {int(i): r for part in self._gather(list(by_unit.items()))
                       for i, r in part}
        return [row for i in chunk for row in by_unit[i]]
