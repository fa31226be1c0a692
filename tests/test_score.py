"""`score(prepend_bos=...)`: BOS first in every evaluator prompt, recorded in the settings
(so a file scored without it is not resumed with it), and an error when there is none."""

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from mathft_jax.decoding.sampling import Sampling
from mathft_jax.models import Decoder, pretrained
from tests.evaluator import toy_task

BOS = 7


@pytest.fixture(scope="module")
def candidates(tmp_path_factory):
    from mathft_jax.infer import infer
    out = tmp_path_factory.mktemp("score") / "candidates.jsonl"
    infer(model_config=toy_task.MODEL, checkpoint="random_init",
          mixture_or_task_name=toy_task.TASK, output_file=str(out), split="test", greedy=False,
          num_samples=2, sampling=Sampling(temperature=1.0), max_new_tokens=6, batch_size=4,
          max_problems=4, show_progress=False)
    return out


@pytest.fixture
def fake_pretrained(monkeypatch):
    params = nn.unbox(Decoder(toy_task.MODEL).init(
        jax.random.key(0), jnp.zeros((1, 8), jnp.int32))["params"])
    monkeypatch.setattr(pretrained, "load_pretrained", lambda name, **kw: pretrained.Pretrained(
        config=toy_task.MODEL, params=params, vocabulary=None, bos_id=BOS, source=name))


def _score(candidates, out, **kw):
    from mathft_jax.score import score
    score(model_config=toy_task.MODEL, candidates_file=str(candidates), output_file=str(out),
          like_task=toy_task.TASK, positive=toy_task.LABELS[0], negative=toy_task.LABELS[1],
          show_progress=False, **kw)
    return [json.loads(line)["score"] for line in out.read_text().splitlines()]


def test_prepend_bos_puts_the_pretrained_bos_first(candidates, tmp_path, fake_pretrained,
                                                   monkeypatch):
    from mathft_jax import score as score_lib
    plain = _score(candidates, tmp_path / "plain.jsonl", checkpoint="pretrained:fake")
    firsts = []
    real = score_lib._score_batches

    def spy(params, cfg, prompts, *args):
        firsts.extend(x.tokens[0] for x in prompts)
        return real(params, cfg, prompts, *args)
    monkeypatch.setattr(score_lib, "_score_batches", spy)
    bos = _score(candidates, tmp_path / "bos.jsonl", checkpoint="pretrained:fake",
                 prepend_bos=True)
    assert firsts and set(firsts) == {BOS}
    assert bos != plain
    progress = json.loads((tmp_path / "bos.jsonl.progress").read_text())
    assert progress["settings"]["bos_id"] == BOS
    assert "bos_id" not in json.loads(
        (tmp_path / "plain.jsonl.progress").read_text())["settings"]


def test_prepend_bos_without_a_bos_id_is_an_error(candidates, tmp_path):
    from mathft_jax.params_source import ParamsSourceError
    with pytest.raises(ParamsSourceError, match="bind score.bos_id"):
        _score(candidates, tmp_path / "s.jsonl", checkpoint="random_init", prepend_bos=True)


def test_a_second_run_on_a_locked_output_is_refused(candidates, tmp_path):
    import os
    from mathft_jax.training import run_lock
    out = tmp_path / "scores.jsonl"

    @run_lock.releases_locks
    def other_run():
        run_lock.hold_output(out, "score.output_file")
        with pytest.raises(run_lock.RunInUseError,
                           match=rf"^{out} is in use by another run \(pid {os.getpid()} on .*"
                                 r"choose another score.output_file"):
            _score(candidates, out, checkpoint="random_init")

    other_run()
    assert not out.exists()
