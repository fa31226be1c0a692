"""End to end: `python -m mathft_jax.evaluate` on a small constructed candidates file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mathft_jax.evaluate import evaluate
from mathft_jax.evaluation.records import RecordError
from tests import kit

REPO = Path(__file__).resolve().parents[1]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _rows():
    rows = []
    # p1 gold 1/2: samples 0.5, 1/2, 3, (none) -> Maj1 right, RR.All picks "3" (score .3).
    # p2 gold (1,2]: samples (1,2), (1,2], (1,2], x -> Maj1 right, RR.All picks "x".
    for pid, gold, answers, subject in [("p1", r"\frac{1}{2}", ["0.5", "1/2", "3", None], "Algebra"),
                                        ("p2", "(1,2]", ["(1,2)", "(1,2]", "(1,2]", "x"], "Geometry")]:
        rows.append({"version": 1, "problem_id": pid, "sample_index": 0, "decoding": "greedy",
                     "text": r"\boxed{%s}" % gold, "gold_answer": gold, "level": "Level 1",
                     "subject": subject})
        for i, a in enumerate(answers):
            rows.append({"version": 1, "problem_id": pid, "sample_index": i, "decoding": "sample",
                         "text": (r"so \boxed{%s}." % a) if a else "no idea", "gold_answer": gold,
                         "level": "Level 1", "subject": subject})
    return rows


def _scores():
    return [{"version": 1, "problem_id": p, "sample_index": i, "score": 0.1 * (i + 1)}
            for p in ("p1", "p2") for i in range(4)]


def test_entry_point_subprocess(tmp_path):
    _write_jsonl(tmp_path / "c.jsonl", _rows())
    _write_jsonl(tmp_path / "s.jsonl", _scores())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mathft_jax.evaluate",
           "--gin_file=gin_configs/runs/evaluate.gin",
           f"--gin.CANDIDATES_FILE='{tmp_path / 'c.jsonl'}'", f"--gin.OUTPUT_DIR='{out}'",
           f"--gin.SCORES_FILE='{tmp_path / 's.jsonl'}'"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["version"] == 1
    overall = report["groups"]["overall"]["all"]
    assert overall["n"] == 2
    assert overall["Greedy"]["mean"] == 1.0
    assert overall["pass@1"]["mean"] == pytest.approx(0.5)
    assert overall["Maj1@N"]["mean"] == 1.0
    assert overall["RR.All"]["mean"] == 0.0
    assert overall["RR.Top8"]["mean"] == 0.0
    assert overall["W.RR"]["mean"] == 1.0
    assert set(report["groups"]["subject"]) == {"Algebra", "Geometry"}
    assert report["counts"]["unextractable"] == 1
    assert report["accuracy_vs_n"]["n"] == [1, 2, 4]
    assert (out / "report.md").read_text().startswith("# Evaluation report")
    assert (out / "accuracy_vs_n.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_required_binding_fails_fast(tmp_path):
    cmd = [sys.executable, "-m", "mathft_jax.evaluate", "--gin_file=gin_configs/runs/evaluate.gin"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0


def test_malformed_lines_error_or_count(tmp_path):
    rows = _rows()
    path = tmp_path / "c.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"problem_id": "p1"}))
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=r"c\.jsonl:4:"):
        evaluate(str(path), str(tmp_path / "out"))
    result = evaluate(str(path), str(tmp_path / "out"), skip_malformed=True, num_bootstrap=50,
                      curve_repeats=2)
    assert result["counts"]["malformed"] == 2


def test_gold_from_math_style_file_and_missing_scores(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "gold_answer"} for r in _rows()]
    _write_jsonl(tmp_path / "c.jsonl", rows)
    _write_jsonl(tmp_path / "gold.jsonl", [
        {"unique_id": "p1", "solution": r"So it is $\boxed{\dfrac{1}{2}}$.", "level": "Level 3",
         "type": "Algebra"},
        {"problem_id": "p2", "answer": "(1,2]"}])
    _write_jsonl(tmp_path / "s.jsonl", _scores()[:5])
    result = evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "out"),
                      scores_file=str(tmp_path / "s.jsonl"), gold_file=str(tmp_path / "gold.jsonl"),
                      num_bootstrap=50, curve_repeats=2)
    assert result["counts"]["missing_score"] == 3
    assert result["groups"]["overall"]["all"]["Maj1@N"]["mean"] == 1.0
    assert os.path.exists(tmp_path / "out" / "report.md")


def test_only_the_primary_host_writes_the_report(tmp_path, monkeypatch):
    from mathft_jax import distributed
    _write_jsonl(tmp_path / "c.jsonl", _rows())
    monkeypatch.setattr(distributed, "is_primary_host", lambda: False)
    result = evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "other"), num_bootstrap=10,
                      curve_repeats=2)
    assert result["counts"]["problems"] == 2  # it grades like every host
    assert not (tmp_path / "other").exists()
    monkeypatch.setattr(distributed, "is_primary_host", lambda: True)
    evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "primary"), num_bootstrap=10,
             curve_repeats=2)
    assert sorted(p.name for p in (tmp_path / "primary").iterdir()) == [
        "accuracy_vs_n.png", "graded.jsonl", "report.json", "report.md"]


def test_partial_scores_are_reported_and_rr_covers_fully_scored_problems(tmp_path, capfd):
    _write_jsonl(tmp_path / "c.jsonl", _rows())
    _write_jsonl(tmp_path / "s.jsonl", _scores()[:5])  # p1 fully scored, p2 one of four
    result = evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "out"),
                      scores_file=str(tmp_path / "s.jsonl"), num_bootstrap=50, curve_repeats=2)
    assert result["scores_coverage"] == {"scored_rows": 5, "sampled_rows": 8,
                                         "scored_problems": 1, "problems": 2}
    overall = result["groups"]["overall"]["all"]
    assert overall["RR.All"]["n"] == 1 and overall["Maj1@N"]["n"] == 2
    assert ("scores 5 of 8 sampled candidates (3 missing): the RR columns cover only the 1 "
            "of 2 problems") in capfd.readouterr().err
    assert "RR columns: evaluator scores cover 5 of 8" in (tmp_path / "out" / "report.md").read_text()


def test_scores_matching_no_candidate_are_an_error(tmp_path):
    from mathft_jax.errors import ConfigError
    _write_jsonl(tmp_path / "c.jsonl", _rows())
    _write_jsonl(tmp_path / "s.jsonl", [{**s, "problem_id": "x" + s["problem_id"]}
                                        for s in _scores()])
    with pytest.raises(ConfigError, match="match none of the 8 sampled candidates"):
        evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "out"),
                 scores_file=str(tmp_path / "s.jsonl"), num_bootstrap=50, curve_repeats=2)


def test_two_gold_answers_for_one_problem_stop_or_are_counted(tmp_path):
    rows = _rows()
    rows[-1]["gold_answer"] = "(1,3]"  # p2's last row disagrees with its others (line 10)
    _write_jsonl(tmp_path / "c.jsonl", rows)
    with pytest.raises(RecordError, match=r"c\.jsonl:10: problem 'p2' has gold_answer '\(1,3\]' "
                                          r"here and '\(1,2\]' on line 6"):
        evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "out"))
    result = evaluate(str(tmp_path / "c.jsonl"), str(tmp_path / "out"), skip_malformed=True,
                      num_bootstrap=50, curve_repeats=2)
    assert result["counts"]["conflicting_gold"] == 1 and result["counts"]["problems"] == 1


def test_a_second_run_into_a_locked_output_dir_is_refused_and_a_stale_lock_taken_over(
        tmp_path, capfd):
    """Two processes on one OUTPUT_DIR: this one holds it, the CLI run is refused with one
    line; then a killed holder's lock is taken over, and a clean end leaves no lock file."""
    from mathft_jax.training import run_lock
    from tests import cli
    _write_jsonl(tmp_path / "c.jsonl", _rows())
    out = tmp_path / "out"
    flags = ["--gin_file=gin_configs/runs/evaluate.gin",
             f"--gin.CANDIDATES_FILE='{tmp_path / 'c.jsonl'}'", f"--gin.OUTPUT_DIR='{out}'"]

    @run_lock.releases_locks
    def other_run():
        run_lock.hold_output(out, "evaluate.output_dir", folder=True)
        return cli.run("evaluate", *flags)

    line = cli.one_error_line(other_run())
    assert line.startswith(f"error: {out} is in use by another run (pid {os.getpid()} on ")
    assert line.endswith("choose another evaluate.output_dir")
    assert not (out / "report.json").exists()

    kit.kill_holding_lock(out, "evaluate.output_dir")
    capfd.readouterr()
    evaluate(str(tmp_path / "c.jsonl"), str(out), num_bootstrap=10, curve_repeats=2)
    assert f"{out / 'evaluate.lock'} was left by a run that did not finish" in \
        capfd.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["accuracy_vs_n.png", "graded.jsonl",
                                                    "report.json", "report.md"]


def test_a_grading_worker_too_slow_to_start_is_one_error_line(tmp_path, monkeypatch):
    """Under heavy load the sympy worker may miss its start-up limit (simulated by a limit
    far below its import time): evaluate stops with one line, exit 3, no traceback."""
    from tests import cli
    gold = r"\frac{\sqrt{2}}{2}"
    rows = [{"version": 1, "problem_id": "p1", "sample_index": 0, "decoding": "sample",
             "text": r"so \boxed{\frac{1}{\sqrt{2}}}.", "gold_answer": gold}]
    _write_jsonl(tmp_path / "c.jsonl", rows)
    monkeypatch.setenv("MATHFT_SYMBOLIC_STARTUP_S", "0.001")
    line = cli.one_error_line(cli.run(
        "evaluate", "--gin_file=gin_configs/runs/evaluate.gin",
        f"--gin.CANDIDATES_FILE='{tmp_path / 'c.jsonl'}'", f"--gin.OUTPUT_DIR='{tmp_path / 'o'}'"),
        status=3)
    assert line == ("error: the symbolic grading worker (python -m mathft_jax.evaluation.symbolic) "
                    "was not ready within its start-up limit of 0.001 s (a heavily loaded "
                    "machine): rerun when the load drops, or allow it longer with "
                    "MATHFT_SYMBOLIC_STARTUP_S=<seconds>")
