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
