"""Readers for the MATH dataset (Hendrycks et al. 2021) in either of its two layouts, and splits.

Layouts (auto-detected by `detect_layout`):

* JSON Lines, as in `../shared/data/math`: `train.jsonl`, `test.jsonl` (one problem a line with
  `unique_id`, `problem`, `level`, `type`, `solution`) and `math500_ids.txt`.
* The official archive: `<root>/{train,test}/<subject>/<n>.json`, each file one object with
  `problem`, `level`, `type`, `solution` (root may also be the folder holding `MATH/`). The
  problem id is the path below the root, e.g. `test/algebra/1.json`, the same as `unique_id`.
  For the paper split put `math500_ids.txt` in the root too.

Splits (`split_config`):

* "paper": train = the 12,000 problems outside MATH500 (7,500 train + 4,500 test), test =
  the 500 MATH500 problems in the order of `math500_ids.txt`.
* "original": train = 7,500, test = 5,000.

Example:
    >>> problems, report = load_math("/data/math", "paper", "test")  # doctest: +SKIP
    >>> len(problems), problems[0].problem_id, problems[0].answer    # doctest: +SKIP
    (500, 'test/precalculus/807.json', '\\\\left( 3, \\\\frac{\\\\pi}{2} \\\\right)')
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import gin
from etils import epath

from mathft_jax.data import answers
from mathft_jax.file_paths import as_path
from mathft_jax.data import records as records_lib

SPLIT_CONFIGS = ("paper", "original")
SPLITS = ("train", "test")
MATH500_IDS_FILE = "math500_ids.txt"
ENV_MATH_DIR = "MATHFT_MATH_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_FIELDS = {"problem": str, "level": str, "type": str, "solution": str}


@dataclasses.dataclass(frozen=True)
class MathProblem:
    """One MATH problem.

    Attributes:
      problem_id: the path inside the official archive, e.g. "test/algebra/1.json".
      problem: LaTeX problem statement.
      solution: LaTeX reference solution, final answer in the last `\\boxed{}`.
      answer: the gold answer (content of that box); "" when the solution has none.
      level: "Level 1".."Level 5" (a few are "Level ?").
      subject: the subject name, e.g. "Intermediate Algebra".
    """

    problem_id: str
    problem: str
    solution: str
    answer: str
    level: str
    subject: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _make_problem(problem_id: str, obj: dict[str, Any]) -> MathProblem:
    return MathProblem(problem_id=problem_id, problem=obj["problem"], solution=obj["solution"],
                       answer=answers.last_boxed_content(obj["solution"]) or "",
                       level=obj["level"], subject=obj["type"])


@gin.register(module="mathft_jax.data")
def math_data_dir(path: str | None = None) -> epath.Path:
    """Where MATH lives: `path`, else $MATHFT_MATH_DIR, else `<repo>/../shared/data/math`.

    The tasks pass the folder their options name (`task_options.TaskOptions.math_data_dir`,
    which an entry point reads from the gin binding `mathft_jax.data.math_data_dir.path`).

    Raises:
      FileNotFoundError: naming every place looked at, when none exists.
    """
    candidates = [path, os.environ.get(ENV_MATH_DIR), _REPO_ROOT.parent / "shared/data/math"]
    for cand in candidates:
        if cand and as_path(cand).is_dir():
            return as_path(cand)
    raise FileNotFoundError(
        "MATH data not found; set the gin binding mathft_jax.data.math_data_dir.path or the "
        f"environment variable {ENV_MATH_DIR} (looked at: {[str(c) for c in candidates if c]})")


def detect_layout(data_dir: str | os.PathLike) -> tuple[str, epath.Path]:
    """Returns ("jsonl" | "archive", root) for a MATH directory.

    Raises:
      FileNotFoundError: when `data_dir` holds neither layout.
    """
    data_dir = as_path(data_dir)
    if (data_dir / "train.jsonl").is_file() and (data_dir / "test.jsonl").is_file():
        return "jsonl", data_dir
    for root in (data_dir, data_dir / "MATH"):
        if (root / "train").is_dir() and (root / "test").is_dir():
            return "archive", root
    raise FileNotFoundError(
        f"{data_dir} holds neither train.jsonl + test.jsonl nor the official archive layout "
        "train/<subject>/<n>.json, test/<subject>/<n>.json (directly or under MATH/)")


def read_math_jsonl(path: str | os.PathLike, on_error: str = "raise"
                    ) -> tuple[list[MathProblem], records_lib.ReadReport]:
    """Reads one MATH JSONL file (fields `unique_id`, `problem`, `level`, `type`, `solution`)."""
    rows, report = records_lib.read_jsonl(path, required={"unique_id": str, **_FIELDS},
                                          on_error=on_error)
    return [_make_problem(r["unique_id"], r) for r in rows], report


def _archive_sort_key(path: epath.Path) -> tuple[str, int, str]:
    return (path.parent.name, int(path.stem) if path.stem.isdigit() else -1, path.name)


def read_math_archive(root: str | os.PathLike, split: str, on_error: str = "raise"
                      ) -> tuple[list[MathProblem], records_lib.ReadReport]:
    """Reads `<root>/<split>/<subject>/<n>.json`, sorted by subject then number.

    A malformed file is reported as `path:1:` (each file is one record).
    """
    records_lib.check_on_error(on_error)
    root = as_path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        raise FileNotFoundError(f"{split_dir} does not exist")
    report = records_lib.ReadReport(source=str(split_dir))
    problems = []
    for path in sorted(split_dir.glob("*/*.json"), key=_archive_sort_key):
        try:
            try:
                obj = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise records_lib.DataFormatError(path, 1, f"bad JSON: {e}") from None
            records_lib.validate_record(obj, _FIELDS, {}, path, 1)
            problems.append(_make_problem(path.relative_to(root).as_posix(), obj))
        except records_lib.DataFormatError as err:
            report.skip_or_raise(err, on_error)
    report.finish(len(problems))
    return problems, report


def read_original_split(data_dir: str | os.PathLike, split: str, on_error: str = "raise"
                        ) -> tuple[list[MathProblem], records_lib.ReadReport]:
    """Reads the original 7,500-train / 5,000-test split from either layout."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    layout, root = detect_layout(data_dir)
    if layout == "jsonl":
        return read_math_jsonl(root / f"{split}.jsonl", on_error)
    return read_math_archive(root, split, on_error)


def read_math500_ids(path: str | os.PathLike) -> list[str]:
    """Reads the MATH500 id list (one `unique_id` a line), rejecting duplicates."""
    ids = []
    seen = set()
    with as_path(path).open("r", encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            pid = line.strip()
            if not pid:
                continue
            if pid in seen:
                raise records_lib.DataFormatError(path, line_no, f"duplicate id {pid!r}")
            seen.add(pid)
            ids.append(pid)
    return ids


def load_math(data_dir: str | os.PathLike | None = None, split_config: str = "paper",
              split: str = "train", on_error: str = "raise"
              ) -> tuple[list[MathProblem], records_lib.ReadReport]:
    """Loads one split of MATH under one split configuration.

    Args:
      data_dir: a MATH directory in either layout; None means `math_data_dir()`.
      split_config: "paper" (12,000 / MATH500) or "original" (7,500 / 5,000).
      split: "train" or "test".
      on_error: "raise" or "skip" for malformed records (see `records.read_jsonl`).

    Returns:
      (problems, report). Paper test problems come in the order of `math500_ids.txt`.

    Raises:
      ValueError: on an unknown config or split, or when a MATH500 id is not among the
        test problems read.
    """
    if split_config not in SPLIT_CONFIGS:
        raise ValueError(f"split_config must be one of {SPLIT_CONFIGS}, got {split_config!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    data_dir = math_data_dir(data_dir) if data_dir is None else as_path(data_dir)
    if split_config == "original":
        return read_original_split(data_dir, split, on_error)
    _, root = detect_layout(data_dir)
    ids_path = root / MATH500_IDS_FILE
    if not ids_path.is_file():
        ids_path = as_path(data_dir) / MATH500_IDS_FILE
    math500 = read_math500_ids(ids_path)
    test, report = read_original_split(data_dir, "test", on_error)
    by_id = {p.problem_id: p for p in test}
    missing = [pid for pid in math500 if pid not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} ids of {ids_path} are not among the test problems "
                         f"read from {data_dir} (first: {missing[0]!r})")
    if split == "test":
        chosen = [by_id[pid] for pid in math500]
        report.num_read = len(chosen)
        return chosen, report
    train, train_report = read_original_split(data_dir, "train", on_error)
    held_out = set(math500)
    chosen = train + [p for p in test if p.problem_id not in held_out]
    train_report.merge(report)
    train_report.source = str(data_dir)
    train_report.num_read = len(chosen)
    return chosen, train_report
