"""launch/mutation_merge.py: runs done in parts count for a function only while its text is
today's, and the newest run that checked a mutant decides."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation_merge", REPO / "launch/mutation_merge.py")
mutation_merge = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutation_merge)

F_OLD = "def f(x):\n    return x + 1\n"
F_NEW = "def f(x):\n    return x + 2\n"
G = "class C:\n    def g(self):\n        return 0\n"
MODULE = "pkg/mod.py"


def _run(tmp_path: Path, name: str, source: str, codes: dict[str, int | None]) -> Path:
    run = tmp_path / name
    (run / "mutants/pkg").mkdir(parents=True)
    (run / "pkg").mkdir()
    (run / MODULE).write_text(source)
    meta = {"exit_code_by_key": {f"pkg.mod.{k}": v for k, v in codes.items()}}
    (run / f"mutants/{MODULE}.meta").write_text(json.dumps(meta))
    return run


@pytest.fixture
def statuses(monkeypatch):
    monkeypatch.setattr(mutation_merge, "exit_status", {0: "survived", 1: "killed"}.get)


def test_function_names_are_mutmuts(tmp_path):
    (tmp_path / "m.py").write_text(F_OLD + G)
    assert mutation_merge.function_sources(tmp_path / "m.py") == {
        "x_f": F_OLD.strip(), "x\u01c1C\u01c1g": "def g(self):\n        return 0"}


def test_the_newest_run_of_the_same_text_decides(tmp_path, statuses):
    (tmp_path / "pkg").mkdir()
    (tmp_path / MODULE).write_text(F_OLD + G)
    old = _run(tmp_path, "old", F_OLD + G, {
        "x_f__mutmut_1": 1, "x_f__mutmut_2": 0, "x_f__mutmut_3": None,
        "x\u01c1C\u01c1g__mutmut_1": 0})
    new = _run(tmp_path, "new", F_OLD + G, {
        "x_f__mutmut_1": None, "x_f__mutmut_2": 1, "x_f__mutmut_3": None,
        "x\u01c1C\u01c1g__mutmut_1": None})
    status, unseen = mutation_merge.merge([new, old], Path(MODULE), root=tmp_path)
    assert status == {"pkg.mod.x_f__mutmut_1": "killed", "pkg.mod.x_f__mutmut_2": "killed",
                      "pkg.mod.x_f__mutmut_3": None,
                      "pkg.mod.x\u01c1C\u01c1g__mutmut_1": "survived"}
    assert unseen == []


def test_a_changed_function_counts_no_old_result(tmp_path, statuses):
    (tmp_path / "pkg").mkdir()
    (tmp_path / MODULE).write_text(F_NEW + G)
    old = _run(tmp_path, "old", F_OLD + G, {"x_f__mutmut_1": 1, "x\u01c1C\u01c1g__mutmut_1": 1})
    status, unseen = mutation_merge.merge([old], Path(MODULE), root=tmp_path)
    assert status == {"pkg.mod.x\u01c1C\u01c1g__mutmut_1": "killed"}
    assert unseen == ["pkg.mod.x_f__mutmut_*"]
