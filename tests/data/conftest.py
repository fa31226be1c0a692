"""Shared fixtures: a tiny fake MATH in both layouts, and the real data when present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REAL_MATH_DIR = Path(os.environ.get("MATHFT_MATH_DIR") or
                     Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "math")

# (split, subject dir, number, subject name, level, problem, solution)
FAKE_PROBLEMS = [
    ("train", "algebra", 0, "Algebra", "Level 1", "What is $1+1$?", r"It is $\boxed{2}$."),
    ("train", "algebra", 2, "Algebra", "Level 2", "Solve $2x=1$.", r"$x=\boxed{\frac{1}{2}}$."),
    ("train", "geometry", 1, "Geometry", "Level 3", "Area?", "No box in this one."),
    ("test", "algebra", 5, "Algebra", "Level 4", "What is $2+2$?", r"$\boxed{4}$"),
    ("test", "algebra", 7, "Algebra", "Level 5", "Interval?", r"$\boxed{[1, 2)}$"),
    ("test", "number_theory", 3, "Number Theory", "Level ?", "Mod?", r"$\fbox{3}$"),
]
FAKE_MATH500 = ["test/algebra/7.json", "test/number_theory/3.json"]


def _uid(split, subdir, num):
    return f"{split}/{subdir}/{num}.json"


@pytest.fixture
def fake_archive(tmp_path: Path) -> Path:
    """`<tmp>/MATH/{train,test}/<subject>/<n>.json` + math500_ids.txt in the root."""
    root = tmp_path / "archive" / "MATH"
    for split, subdir, num, subject, level, problem, solution in FAKE_PROBLEMS:
        path = root / split / subdir / f"{num}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"problem": problem, "level": level, "type": subject,
                                    "solution": solution}))
    (root / "math500_ids.txt").write_text("\n".join(FAKE_MATH500) + "\n")
    return tmp_path / "archive"


@pytest.fixture
def fake_jsonl(tmp_path: Path) -> Path:
    """`<tmp>/jsonl/{train,test}.jsonl` + math500_ids.txt, same problems as fake_archive."""
    root = tmp_path / "jsonl"
    root.mkdir()
    for split in ("train", "test"):
        rows = [{"unique_id": _uid(s, d, n), "problem": p, "level": lv, "type": subj,
                 "solution": sol} for s, d, n, subj, lv, p, sol in FAKE_PROBLEMS if s == split]
        (root / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "math500_ids.txt").write_text("\n".join(FAKE_MATH500) + "\n")
    return root


@pytest.fixture
def real_math_dir() -> Path:
    if not (REAL_MATH_DIR / "train.jsonl").is_file():
        pytest.skip(f"MATH data not found at {REAL_MATH_DIR} (set MATHFT_MATH_DIR)")
    return REAL_MATH_DIR
