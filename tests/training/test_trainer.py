"""End-to-end trainer tests on the tiny SeqIO task: overfitting, kill/SIGTERM and resume,
params-only init, configuration errors."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from mathft_jax.errors import ConfigError
from mathft_jax.training import checkpoints
from tests.training import tiny_run, tiny_task

REPO = Path(__file__).resolve().parents[2]
STEPS = 6


def _params_equal(a, b) -> bool:
    leaves = jax.tree_util.tree_leaves(jax.tree_util.tree_map(
        lambda x, y: np.array_equal(np.asarray(x), np.asarray(y)), a, b))
    return all(leaves)


def _subprocess(model_dir, steps, *flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable, "-m", "tests.training.tiny_run", str(model_dir),
                           str(steps), *flags], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_tiny_model_overfits(tmp_path):
    result = tiny_run.run(str(tmp_path), 60, log_every=20, eval_every=60,
                          checkpoint_every=1000)
    first, last = result.history[0]["loss"], result.train_metrics["loss"]
    assert result.history[0]["step"] == 1
    assert last < 0.1 * first, (first, last)
    assert result.eval_metrics["loss"] < 0.1 * first
    # TensorBoard event files for train and eval.
    assert any((tmp_path / "train").iterdir()) and any((tmp_path / "eval").iterdir())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted STEPS-step run."""
    import gin
    gin.clear_config()
    d = tmp_path_factory.mktemp("reference")
    result = tiny_run.run(str(d), STEPS)
    gin.clear_config()
    result.model_dir = str(d)
    return result


def test_sigkill_then_resume_is_bitwise_identical(tmp_path, reference):
    # SIGKILL right after the step-4 save was started (possibly still being written).
    proc = _subprocess(tmp_path, STEPS, "--kill-at", "4")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    ckpt_dir = tmp_path / "checkpoints"
    finalized = sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit())
    assert finalized and finalized[-1] in (2, 4), finalized
    # Whatever the kill left, the latest finalized checkpoint restores and the run continues
    # to the same bits as the uninterrupted one.
    resumed = tiny_run.run(str(tmp_path), STEPS)
    assert resumed.step == STEPS
    assert _params_equal(resumed.state.params, reference.state.params)
    assert _params_equal(resumed.state.opt_state, reference.state.opt_state)


def test_sigterm_saves_and_exits_cleanly_then_resumes(tmp_path, reference):
    proc = _subprocess(tmp_path, STEPS, "--sigterm-at", "3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "finished step=3 preempted=True" in proc.stdout
    assert "SIGTERM: saved step 3" in proc.stdout
    assert (tmp_path / "checkpoints" / "3" / "meta").is_dir()
    resumed = tiny_run.run(str(tmp_path), STEPS)
    assert _params_equal(resumed.state.params, reference.state.params)


def test_init_checkpoint_restores_params_only(tmp_path, reference):
    # From a params-only export ...
    checkpoints.export_params(tmp_path / "export", reference.state.params)
    result = tiny_run.run(str(tmp_path / "from_export"), 0,
                          init_checkpoint=str(tmp_path / "export"))
    assert result.step == 0
    assert _params_equal(result.state.params, reference.state.params)
    adam = result.state.opt_state[1][0]
    assert int(adam.count) == 0  # fresh AdamW state
    # ... and from another run's MODEL_DIR (its latest step).
    result = tiny_run.run(str(tmp_path / "from_run"), 0, init_checkpoint=reference.model_dir)
    assert _params_equal(result.state.params, reference.state.params)


def test_init_checkpoint_pretrained_goes_through_params_source(tmp_path, monkeypatch):
    import flax.linen as nn
    import jax.numpy as jnp
    from mathft_jax.models import Decoder, pretrained
    params = nn.unbox(Decoder(tiny_run.CONFIG).init(
        jax.random.key(5), jnp.zeros((1, 8), jnp.int32))["params"])
    monkeypatch.setattr(pretrained, "load_pretrained", lambda name, **kw: pretrained.Pretrained(
        config=tiny_run.CONFIG, params=params, vocabulary=None, bos_id=2, source=name))
    result = tiny_run.run(str(tmp_path / "run"), 0, init_checkpoint="pretrained:fake")
    assert result.step == 0
    assert _params_equal(result.state.params, params)
    # Not a checkpoint path: a wrong model name is params_source's error, not a missing file.
    from mathft_jax.params_source import ParamsSourceError
    with pytest.raises(ParamsSourceError, match="needs a model name"):
        tiny_run.run(str(tmp_path / "other"), 0, init_checkpoint="pretrained:")


def test_vocab_and_task_errors(tmp_path):
    small = tiny_run.CONFIG.__class__(vocab_size=100)
    with pytest.raises(ConfigError, match="vocab_size 100 is smaller"):
        tiny_run.run(str(tmp_path), 1, model_config=small)
    with pytest.raises(ConfigError, match="unknown SeqIO task .*did you mean"):
        tiny_run.run(str(tmp_path), 1, mixture_or_task_name=tiny_task.TASK_NAME + "x")


def test_resume_under_a_changed_schedule_is_refused_then_allowed(tmp_path, reference):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(reference.model_dir, run)
    with pytest.raises(ConfigError, match=r"other settings \(schedule.total_steps: 6 -> 8\)"):
        tiny_run.run(str(run), STEPS + 2)
    result = tiny_run.run(str(run), STEPS + 2, allow_changed_settings=True)
    assert result.step == STEPS + 2


def test_a_params_only_final_step_finishes_the_run(tmp_path, reference):
    """final_optimizer_state=False: the last step is saved without optimizer state (earlier
    ones keep it); a rerun returns at once, training further from it is refused, and another
    run starts from its params."""
    run = tmp_path / "run"
    result = tiny_run.run(str(run), STEPS, final_optimizer_state=False)
    assert _params_equal(result.state.params, reference.state.params)
    final = run / "checkpoints" / str(STEPS)
    assert (final / "params").is_dir() and not (final / "opt_state").exists()
    assert (run / "checkpoints" / str(STEPS - 2) / "opt_state").is_dir()  # keep_checkpoints=2
    trained = []
    again = tiny_run.run(str(run), STEPS, step_callbacks=[lambda step, _: trained.append(step)])
    assert again.step == STEPS and trained == [] and again.state.opt_state is None
    assert _params_equal(again.state.params, reference.state.params)
    with pytest.raises(ConfigError, match=rf"checkpoints/{STEPS} holds params only .* cannot "
                                          rf"be resumed to step {STEPS + 2}"):
        tiny_run.run(str(run), STEPS + 2, allow_changed_settings=True)
    assert not (run / "broken_checkpoints").exists()
    started = tiny_run.run(str(tmp_path / "next"), 0, init_checkpoint=str(run))
    assert _params_equal(started.state.params, reference.state.params)


class _Stream:
    def __init__(self, terminal: bool):
        self.terminal, self.text = terminal, ""

    def isatty(self) -> bool:
        return self.terminal

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_progress_bar_only_on_a_terminal_and_lines_print_above_it(tmp_path):
    from mathft_jax.training import trainer
    from mathft_jax.training.metrics import MetricsLogger
    assert trainer.progress_bar(10, 0, _Stream(terminal=False)) is None
    bar = trainer.progress_bar(10, 4, _Stream(terminal=True))
    try:
        assert (bar.total, bar.n, bar.unit) == (10, 4, "step")  # resumed runs start at 4
    finally:
        bar.close()
    written = []
    logger = MetricsLogger(tmp_path, 10, 16, line_writer=written.append)
    logger.train(5, {"loss": 1.5})
    logger.close()
    assert written == ["step 5/10 | loss 1.5000"]


def test_a_non_finite_step_stops_the_run_before_it_is_saved(tmp_path):
    """Learning rate 1e30: step 2 still has finite values (saved), step 3's gradient norm is
    NaN. The check runs before step 4's save, names step 3, and step 2 stays the newest."""
    from mathft_jax.training import trainer
    diverging = tiny_run.fast_optimizer(STEPS, peak=1e30)
    with pytest.raises(trainer.TrainingDiverged,
                       match=rf"{tmp_path}: training diverged at step 3 \(loss [0-9.]+, "
                             r"grad_norm nan\): stopped before saving it; the newest "
                             r"checkpoint is step 2"):
        tiny_run.run(str(tmp_path), STEPS, **diverging)
    assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir()
                  if p.name.isdigit()) == [2]
    resumed = tiny_run.run(str(tmp_path), 2, **tiny_run.fast_optimizer(2, peak=1e30),
                           allow_changed_settings=True)
    assert resumed.step == 2
    assert all(np.isfinite(np.asarray(leaf)).all()
               for leaf in jax.tree_util.tree_leaves(resumed.state.params))
