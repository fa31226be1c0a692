"""The recipe end to end on its quick setting (toy sums, tiny model): every stage's output
exists and parses, each candidates file is graded once, the report's numbers are recomputed
here independently, and a run killed in the middle of a stage continues to the same report as
an uninterrupted one."""

import collections
import json
import shutil
import signal
import subprocess
import time

import pytest

from mathft_jax import formats
from mathft_jax.evaluation.answer_extraction import extract_answer
from mathft_jax.evaluation.equivalence import is_equiv
from tests.kit import REPO, recipe_command as _command, recipe_env as _env
from tests.recipe.count_grading import rows_key


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run, with every grading logged (`count_grading`) to run_dir/../gradings.log."""
    run_dir = tmp_path_factory.mktemp("recipe") / "run"
    command = _command(run_dir)
    command[1:3] = ["-m", "tests.recipe.count_grading", str(run_dir.parent / "gradings.log")]
    done = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return run_dir, done.stdout


def _report(run_dir):
    report = json.loads((run_dir / "report" / "report.json").read_text())
    for row in report["rows"]:
        row.pop("curves_from", None)
    report.pop("stages")
    return report


def test_every_stage_output_exists_and_parses(uninterrupted):
    run_dir, stdout = uninterrupted
    manifests = [json.loads(p.read_text()) for p in run_dir.glob("*/manifest.json")]
    assert len(manifests) == 43 and all(m["complete"] for m in manifests)
    assert not any((m["outputs"] or {}).get("skipped") for m in manifests), \
        "the toy generator must give every evaluator some data"
    for path in run_dir.glob("test_*/candidates.jsonl"):
        assert formats.read_candidates(str(path))[0]
    for path in run_dir.glob("scores_*/scores.jsonl"):
        assert formats.read_scores(str(path))[0]
    assert (run_dir / "report" / "report.md").read_text().count("## Verdicts") == 1
    assert len(list((run_dir / "report").glob("accuracy_vs_n_*.png"))) == 12
    assert "[1/43] sft_detailed: started" in stdout and "report: " in stdout
    for path in run_dir.glob("graded_*/graded.jsonl"):
        assert formats.read_graded(str(path))[1]
    assert {kind for kind in formats.EXAMPLE_KINDS if formats.read_examples(
        str(run_dir / "evaluator_examples" / "examples.jsonl"), kind)} == {
        "classification", "pair", "solution"}
    assert not list(run_dir.glob("train_samples/*.examples.jsonl"))


def test_each_candidates_file_is_graded_once(uninterrupted):
    """Six candidates files (the training samples and five generators' test samples), each
    graded exactly once by its graded_* stage; evaluate, the evaluator data and the report
    read that grading."""
    run_dir, _ = uninterrupted
    files = sorted(run_dir.glob("*/candidates.jsonl"))
    assert len(files) == 6
    keys = {rows_key(formats.read_candidates(str(path))[0]): path.parent.name for path in files}
    gradings = collections.Counter((run_dir.parent / "gradings.log").read_text().split())
    assert {keys.get(key, key): n for key, n in gradings.items()} == {
        path.parent.name: 1 for path in files}


def test_each_trained_stage_keeps_only_its_final_checkpoint_params_only(uninterrupted):
    run_dir, stdout = uninterrupted
    trained = sorted(path.parent.name for path in run_dir.glob("*/checkpoints"))
    assert trained == ["control", "evaluator_classification", "evaluator_likelihood",
                       "evaluator_margin", "evaluator_mixture", "evaluator_steps", "joint",
                       "multitask", "sft_detailed", "sft_terse"]
    for name in trained:
        steps = json.loads((run_dir / name / "manifest.json").read_text())["outputs"]["steps"]
        kept = [p.name for p in (run_dir / name / "checkpoints").iterdir() if p.is_dir()]
        assert kept == [str(steps)], (name, kept)  # RecipeSettings.keep_checkpoints = 1
        # ... params-only (keep_optimizer_state = False); every later stage read it (above).
        final = run_dir / name / "checkpoints" / str(steps)
        assert sorted(p.name for p in final.iterdir() if p.is_dir()) == ["meta", "params"]
    plans = [ln for ln in stdout.splitlines() if ln.startswith(f"plan for {run_dir}: ")]
    assert plans == [ln for ln in plans if "43 stages; to run (43): sft_detailed, " in ln] != []


def test_report_numbers_recomputed_from_the_files(uninterrupted):
    """Greedy, Pass@N and RR.All of the margin row, by a separate reading of the files."""
    run_dir, _ = uninterrupted
    rows = [json.loads(line) for line in
            (run_dir / "test_sft_detailed" / "candidates.jsonl").read_text().splitlines()]
    scores = {(s["problem_id"], s["sample_index"]): s["score"] for s in map(
        json.loads, (run_dir / "scores_margin" / "scores.jsonl").read_text().splitlines())}
    by_problem = {}
    for r in rows:
        by_problem.setdefault(r["problem_id"], []).append(r)
    greedy, any_right, rr_all = [], [], []
    for pid, group in by_problem.items():
        right = lambda r: is_equiv(r["gold_answer"], extract_answer(r["text"]) or "")
        greedy.append(right(next(r for r in group if r["decoding"] == "greedy")))
        samples = [r for r in group if r["decoding"] == "sample"]
        any_right.append(any(right(r) for r in samples))
        answered = [r for r in samples if extract_answer(r["text"]) is not None]
        best = max(answered, key=lambda r: (scores[(pid, r["sample_index"])],
                                            -r["sample_index"]), default=None)
        rr_all.append(best is not None and right(best))
    report = json.loads((run_dir / "report" / "report.json").read_text())
    cells = {row["label"]: row["cells"] for row in report["rows"]}
    mean = lambda xs: sum(xs) / len(xs)
    assert cells["SSFT detailed"]["Greedy"]["mean"] == pytest.approx(mean(greedy))
    assert cells["SSFT detailed"]["Pass@N"]["mean"] == pytest.approx(mean(any_right))
    assert cells["SSFT detailed + margin evaluator"]["RR.All"]["mean"] == pytest.approx(
        mean(rr_all))


def test_killed_mid_stage_then_rerun_gives_the_same_report(uninterrupted, tmp_path):
    reference, _ = uninterrupted
    run_dir = tmp_path / "run"
    # Its error line goes to a file (a pipe could fill up): an early exit says why.
    errors = tmp_path / "killed_run.stderr"
    with open(errors, "w") as err:
        proc = subprocess.Popen(_command(run_dir), cwd=REPO, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=err)
    checkpoints = run_dir / "sft_terse" / "checkpoints"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir()):
            break
        time.sleep(0.2)
    assert proc.poll() is None, ("the run ended before it could be killed: "
                                 + errors.read_text()[-3000:])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Two stages run at once (toy_recipe.gin): when sft_terse is killed, sft_detailed may be
    # finished or killed too. Each finished stage is skipped, each killed one continues.
    complete = {m.parent.name: json.loads(m.read_text())["complete"]
                for m in run_dir.glob("*/manifest.json")}
    assert complete["sft_terse"] is False
    rerun = subprocess.run(_command(run_dir), cwd=REPO, env=_env(), capture_output=True,
                           text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    for name, done in complete.items():
        assert f"{name}: {'done, skipped' if done else 'continuing an interrupted run'}" \
            in rerun.stdout, name
    assert "resuming from" in rerun.stdout
    assert _report(run_dir) == _report(reference)


SCALING_SIZES = (24, 120)


def test_scaling_study_on_the_finished_run_trains_on_nested_subsets_and_reports(
        uninterrupted, tmp_path):
    """The evaluator data-scaling study (`recipe/scaling.py`) in the toy run's folder: it
    reuses the chain's stages and runs only its own; every evaluator kind trains on its size's
    training rows (more at the larger size), and the report's table and plot have a cell per
    size and kind and the two likelihood baselines."""
    reference, _ = uninterrupted
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    kinds = ("classification", "likelihood")
    done = subprocess.run(
        _command(run_dir) + ["--gin.recipe.scaling=@ScalingSettings()",
                             f"--gin.ScalingSettings.sizes={SCALING_SIZES}",
                             f"--gin.ScalingSettings.kinds={kinds}",
                             "--gin.ScalingSettings.min_steps=2"],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "train_samples: done, skipped" in done.stdout
    assert "sft_detailed: done, skipped" in done.stdout
    subsets = [[(r["problem_id"], r["sample_index"]) for r in formats.read_candidates(
        str(run_dir / f"subset_{n}" / "candidates.jsonl"))[0]] for n in SCALING_SIZES]
    assert [len(s) for s in subsets] == list(SCALING_SIZES)
    assert subsets[1][:SCALING_SIZES[0]] == subsets[0]
    report = json.loads((run_dir / "scaling_report" / "scaling.json").read_text())
    cells = {(c["kind"], c["size"]): c for c in report["cells"]}
    assert set(cells) == {(k, n) for k in kinds for n in SCALING_SIZES}
    for kind in kinds:
        small, large = cells[(kind, SCALING_SIZES[0])], cells[(kind, SCALING_SIZES[1])]
        assert small["rows"] < large["rows"] and small["train_problems"] < large["train_problems"]
        assert (small["steps"], large["steps"]) == (3, 15)  # one epoch of 8 rows, at least 2
        for cell in (small, large):
            assert cell["skipped"] or 0 <= cell["auc"] <= 1
    # What the verifier's stage registered and trained on: its own subset's solutions.
    for n in SCALING_SIZES:
        log = done.stdout.split(f"recipe_evaluator_tokens_{n}: ", 1)[1].split("\n", 1)[0]
        assert f"{len({p for p, _ in subsets[SCALING_SIZES.index(n)]})} problems" in log
    assert [b["label"] for b in report["baselines"]] == [
        "own likelihood (total, untrained)", "own likelihood (per token, untrained)"]
    table = (run_dir / "scaling_report" / "scaling.md").read_text()
    assert all(f"| {n} (" in table for n in SCALING_SIZES)
    assert table.count("own likelihood") >= 2
    png = (run_dir / "scaling_report" / "scaling.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
