"""The training progress line: rates and the ETA from the last interval's rate."""

from mathft_jax.training import metrics


def test_progress_line_has_rate_and_eta(tmp_path, monkeypatch):
    lines = []
    clock = iter([100.0, 110.0, 120.0])
    monkeypatch.setattr(metrics.time, "perf_counter", lambda: next(clock))
    logger = metrics.MetricsLogger(tmp_path, total_steps=1000, tokens_per_step=10,
                                   line_writer=lines.append)
    logger.start(step=0)
    logger.train(200, {"loss": 1.0})    # 200 steps in 10 s: 20 steps/s, 800 left: 40 s
    logger.train(1000, {"loss": 0.5})   # the last step: no ETA
    logger.close()
    assert lines[0] == "step 200/1000 | loss 1.0000 | 20.00 steps/s | 200 tokens/s | ETA 40s"
    assert lines[1] == "step 1000/1000 | loss 0.5000 | 80.00 steps/s | 800 tokens/s"


def test_eta_text():
    assert metrics.eta_text(3725) == "1h02m"
    assert metrics.eta_text(245) == "4m05s"
    assert metrics.eta_text(9.4) == "9s"


def _event_files(folder):
    return sorted(p.relative_to(folder).parent.as_posix() for p in folder.rglob("*tfevents*"))


def test_summaries_go_to_summary_dir_or_nowhere(tmp_path):
    """With MODEL_DIR on gs:// (nothing may reach the bucket here: no network), summaries go
    to a local summary_dir, or are off; the progress line is the same either way."""
    lines = []
    logger = metrics.MetricsLogger("gs://mathft-no-such-bucket/run", total_steps=4,
                                   tokens_per_step=10, line_writer=lines.append,
                                   summary_dir=tmp_path / "tb")
    logger.train(2, {"loss": 1.0})
    logger.eval(2, {"loss": 2.0})
    logger.close()
    assert _event_files(tmp_path / "tb") == ["eval", "train"]
    off = metrics.MetricsLogger(tmp_path / "run", total_steps=4, tokens_per_step=10,
                                line_writer=lines.append, summaries=False)
    off.train(2, {"loss": 1.0})
    off.close()
    assert not (tmp_path / "run").exists()
    assert lines == ["step 2/4 | loss 1.0000", "eval step 2/4 | loss 2.0000",
                     "step 2/4 | loss 1.0000"]
