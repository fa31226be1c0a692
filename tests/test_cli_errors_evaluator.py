"""The evaluator-side entry points (score, train_sequence, recipe) keep the one-line error
contract: exit 2 and one `error:` line naming the file or setting."""

from __future__ import annotations

import json

from tests import cli

SCORE = ["--gin_file=gin_configs/models/tiny.gin", "--gin_file=gin_configs/runs/score.gin",
         "--gin.CHECKPOINT='random_init'"]


def test_score_missing_candidates_file(tmp_path):
    line = cli.one_error_line(cli.run("score", *SCORE,
                                      f"--gin.CANDIDATES_FILE='{tmp_path}/none.jsonl'",
                                      f"--gin.OUTPUT_FILE='{tmp_path}/s.jsonl'"))
    assert "none.jsonl does not exist" in line
    assert not (tmp_path / "s.jsonl").exists()


def test_score_candidates_without_problem_statements(tmp_path):
    rows = [{"version": 1, "problem_id": "p", "sample_index": 0, "decoding": "sample",
             "text": "\\boxed{1}"}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    line = cli.one_error_line(cli.run("score", *SCORE, f"--gin.CANDIDATES_FILE='{tmp_path}/c.jsonl'",
                                      f"--gin.OUTPUT_FILE='{tmp_path}/s.jsonl'"))
    assert "no 'problem' statement" in line and "c.jsonl" in line


def test_score_typo_and_bad_size(tmp_path):
    line = cli.one_error_line(cli.run("score", *SCORE, "--gin.BATCH_SIZ=4",
                                      f"--gin.CANDIDATES_FILE='{tmp_path}/c.jsonl'",
                                      f"--gin.OUTPUT_FILE='{tmp_path}/s.jsonl'"))
    assert "did you mean BATCH_SIZE?" in line
    (tmp_path / "c.jsonl").write_text("")
    line = cli.one_error_line(cli.run("score", *SCORE, "--gin.BATCH_SIZE=0",
                                      f"--gin.CANDIDATES_FILE='{tmp_path}/c.jsonl'",
                                      f"--gin.OUTPUT_FILE='{tmp_path}/s.jsonl'"))
    assert "score.batch_size must be >= 1" in line


def test_train_sequence_and_recipe_missing_settings(tmp_path):
    line = cli.one_error_line(cli.run(
        "train_sequence", "--gin_file=gin_configs/experiments/synthetic_multitask.gin"))
    assert "MODEL_DIR" in line
    line = cli.one_error_line(cli.run("recipe", "--gin_file=gin_configs/recipe/quick.gin"))
    assert "RUN_DIR" in line
