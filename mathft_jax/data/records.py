"""JSON Lines reading with a clear policy for malformed lines, and atomic JSONL writing.

Every malformed line (bad JSON, not an object, a missing required field, a field of the wrong
type) either raises `DataFormatError` naming the file and 1-based line number
(`on_error="raise"`, the default), or is skipped and counted in the returned `ReadReport`
(`on_error="skip"`), whose summary is logged. Nothing is dropped silently.

Example:
    >>> records, report = read_jsonl("train.jsonl", required={"problem": str, "solution": str},
    ...                              on_error="skip")                      # doctest: +SKIP
    >>> report.summary()                                                   # doctest: +SKIP
    'train.jsonl: 7499 records read, 1 skipped (train.jsonl:17: bad JSON: ...)'
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any, Iterable, Mapping

from mathft_jax.atomic_files import atomic_write
from mathft_jax.file_paths import as_path
from mathft_jax.errors import ConfigError

OnError = str  # "raise" | "skip"
_MAX_KEPT_ERRORS = 20


class DataFormatError(ConfigError, ValueError):
    """A malformed record; the message starts with `path:line:`."""

    def __init__(self, path: str | os.PathLike, line: int, message: str):
        self.path = str(path)
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


@dataclasses.dataclass
class ReadReport:
    """What a read kept and skipped.

    Attributes:
      source: the file or directory read.
      num_read: records returned.
      num_skipped: malformed records skipped (only with on_error="skip").
      errors: the first 20 error messages, each `path:line: what`.
    """

    source: str
    num_read: int = 0
    num_skipped: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    def add_error(self, err: DataFormatError) -> None:
        self.num_skipped += 1
        if len(self.errors) < _MAX_KEPT_ERRORS:
            self.errors.append(str(err))

    def skip_or_raise(self, err: DataFormatError, on_error: str) -> None:
        """Re-raises `err` when on_error is "raise", else counts it as a skipped record."""
        if on_error == "raise":
            raise err
        self.add_error(err)

    def finish(self, num_read: int) -> None:
        """Records how many were kept and logs the summary when anything was skipped."""
        self.num_read = num_read
        if self.num_skipped:
            logging.warning("%s", self.summary())

    def merge(self, other: "ReadReport") -> None:
        self.num_read += other.num_read
        self.num_skipped += other.num_skipped
        self.errors.extend(other.errors[: _MAX_KEPT_ERRORS - len(self.errors)])

    def summary(self) -> str:
        text = f"{self.source}: {self.num_read} records read, {self.num_skipped} skipped"
        if self.errors:
            text += " (first: " + self.errors[0] + ")"
        return text


def check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


def validate_record(record: Any, required: Mapping[str, type | tuple[type, ...]],
                    optional: Mapping[str, type | tuple[type, ...]], path: str | os.PathLike,
                    line: int) -> dict[str, Any]:
    """Checks that `record` is an object with the required/optional fields of the given types.

    Raises:
      DataFormatError: naming `path:line` and the offending field.
    """
    if not isinstance(record, dict):
        raise DataFormatError(path, line, f"expected a JSON object, got {type(record).__name__}")
    for name, types in required.items():
        if name not in record:
            raise DataFormatError(path, line, f"missing required field {name!r}")
    for name, types in {**required, **optional}.items():
        if name in record and record[name] is not None and not isinstance(record[name], types):
            want = (types.__name__ if isinstance(types, type)
                    else "/".join(t.__name__ for t in types))
            raise DataFormatError(path, line, f"field {name!r} must be {want}, got "
                                  f"{type(record[name]).__name__}")
    return record


def read_jsonl(path: str | os.PathLike, *, required: Mapping[str, Any] | None = None,
               optional: Mapping[str, Any] | None = None,
               on_error: OnError = "raise") -> tuple[list[dict[str, Any]], ReadReport]:
    """Reads a JSON Lines file of objects, validating field presence and types.

    Blank lines are ignored (they are not records). Lines are decoded as UTF-8.

    Args:
      path: the file.
      required: field name -> type (or tuple of types) that every record must have.
      optional: field name -> type checked only when present and not null.
      on_error: "raise" (stop at the first malformed line) or "skip" (count it, go on).

    Returns:
      (records, report).

    Raises:
      DataFormatError: on a malformed line when on_error="raise", or on undecodable UTF-8.
      FileNotFoundError: when `path` does not exist.
    """
    check_on_error(on_error)
    required, optional = required or {}, optional or {}
    report = ReadReport(source=str(path))
    records = []
    with as_path(path).open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataFormatError(path, line_no, f"not UTF-8: {e}") from None
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise DataFormatError(path, line_no, f"bad JSON: {e.msg} at column {e.colno}")\
                        from None
                records.append(validate_record(obj, required, optional, path, line_no))
            except DataFormatError as err:
                report.skip_or_raise(err, on_error)
    report.finish(len(records))
    return records, report


def write_jsonl(path: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> None:
    """Writes records as JSON Lines atomically (temporary file in the same folder + rename)."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    atomic_write(path, write)
