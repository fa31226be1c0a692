"""infer: candidates schema, chunked resume after a cut chunk or a SIGKILL, settings checks.

Uses a tiny random model (`checkpoint="random_init"`) on the kit's tiny task
(`tests.kit.INFER_TASK`, byte vocabulary). The gin file of the CLI test imports the kit to
register the task in the subprocess.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import kit

REPO = Path(__file__).resolve().parents[1]
TASK = kit.INFER_TASK
NUM_PROBLEMS = kit.INFER_NUM_PROBLEMS
MODEL = kit.BYTE_MODEL
SETTINGS = kit.INFER_SETTINGS


def _infer(out, **kw):
    from mathft_jax.infer import infer
    return infer(output_file=str(out), **{**SETTINGS, **kw})


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "cands.jsonl"
    summary = _infer(out)
    return out, summary


def test_schema_and_order(reference):
    out, summary = reference
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == NUM_PROBLEMS * 4 == summary["rows_total"]
    assert summary["complete"] and summary["generated_tokens"] > 0
    keys = {"version", "problem_id", "sample_index", "decoding", "text", "logprob",
            "num_tokens", "finish_reason", "checkpoint", "sampling", "gold_answer", "level",
            "subject", "problem"}
    for i in range(NUM_PROBLEMS):
        group = rows[4 * i: 4 * i + 4]
        assert [(r["decoding"], r["sample_index"]) for r in group] == [
            ("greedy", 0), ("sample", 0), ("sample", 1), ("sample", 2)]
        for r in group:
            assert set(r) == keys and r["version"] == 1
            assert r["problem_id"] == f"tiny/test/{i}" and r["gold_answer"] == str(i + i % 3)
            assert r["level"] == f"Level {i % 5 + 1}" and r["subject"] == "Arithmetic"
            assert r["finish_reason"] in ("eos", "length")
            assert 1 <= r["num_tokens"] <= 6 and r["logprob"] <= 0
            assert r["checkpoint"] == "random_init" and r["sampling"]["seed"] == 5
        assert group[0]["sampling"]["name"] == "greedy"
        assert group[1]["sampling"]["name"] == "sample"
    progress = json.loads(Path(str(out) + ".progress").read_text())
    assert progress["complete"] and progress["bytes"] == out.stat().st_size


def test_resume_after_cut_chunk_equals_uninterrupted(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "cands.jsonl"
    first = _infer(out, max_chunks=1)
    assert first["problems_total"] == 4 and not first["complete"]
    with open(out, "ab") as f:  # a chunk the kill cut in half
        f.write(b'{"version": 1, "problem_id": "tiny/te')
    second = _infer(out)
    assert second["problems_written"] == NUM_PROBLEMS - 4 and second["complete"]
    assert out.read_bytes() == ref.read_bytes()
    # A finished file is left alone.
    assert _infer(out)["problems_written"] == 0 and out.read_bytes() == ref.read_bytes()


def test_other_batch_size_writes_the_same_rows(reference, tmp_path):
    """Continuous batching: a row's tokens depend on (seed, problem, sample index) only.

    Log-probs may differ in the last float32 bits: XLA CPU's matmuls round differently for
    another number of rows (measured: batch 5 vs 2 moved a summed logprob by 5e-7).
    """
    ref, _ = reference
    expected = [json.loads(line) for line in ref.read_text().splitlines()]
    for batch_size, chunk_problems in ((1, 4), (5, 3)):
        out = tmp_path / f"cands_{batch_size}.jsonl"
        _infer(out, batch_size=batch_size, chunk_problems=chunk_problems)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [dict(r, logprob=None) for r in rows] == [dict(r, logprob=None)
                                                         for r in expected]
        assert [r["logprob"] for r in rows] == pytest.approx(
            [r["logprob"] for r in expected], rel=1e-6)


def test_refuses_other_settings_and_unknown_files(reference, tmp_path):
    from mathft_jax.errors import ConfigError
    out = tmp_path / "cands.jsonl"
    _infer(out, max_chunks=1)
    with pytest.raises(ConfigError, match=r"different settings \(seed: 5 -> 6\)"):
        _infer(out, seed=6)
    stray = tmp_path / "stray.jsonl"
    stray.write_text("{}\n")
    with pytest.raises(ConfigError, match="no .*progress"):
        _infer(stray)
    assert _infer(stray, overwrite=True)["complete"]


def test_cli_sigkill_then_resume_equals_uninterrupted(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "cands.jsonl"
    gin_file = tmp_path / "tiny_infer.gin"
    gin_file.write_text(f"""
import tests.kit
import mathft_jax.models.config
MODEL_CONFIG = @ModelConfig()
ModelConfig.vocab_size = {MODEL.vocab_size}
ModelConfig.num_layers = {MODEL.num_layers}
ModelConfig.embed_dim = {MODEL.embed_dim}
ModelConfig.mlp_dim = {MODEL.mlp_dim}
ModelConfig.num_heads = {MODEL.num_heads}
ModelConfig.num_kv_heads = {MODEL.num_kv_heads}
ModelConfig.head_dim = {MODEL.head_dim}
ModelConfig.max_seq_len = {MODEL.max_seq_len}
""")
    cmd = [sys.executable, "-m", "mathft_jax.infer", f"--gin_file={gin_file}",
           "--gin_file=gin_configs/runs/infer.gin", "--gin.CHECKPOINT='random_init'",
           f"--gin.MIXTURE_OR_TASK_NAME='{TASK}'", f"--gin.OUTPUT_FILE='{out}'",
           "--gin.NUM_SAMPLES=3", "--gin.MAX_NEW_TOKENS=6", "--gin.BATCH_SIZE=2",
           "--gin.infer.chunk_problems=4", "--gin.SEED=5", "--gin.infer.show_progress=False"]
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    progress = Path(str(out) + ".progress")
    # Kill as soon as the first chunk is recorded: the second chunk is then usually half
    # written (the resumed run must drop it).
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        done = 0
        while time.time() < deadline and proc.poll() is None:
            if progress.exists():
                try:
                    done = json.loads(progress.read_text())["problems_done"]
                except (json.JSONDecodeError, KeyError):
                    done = 0
                if done >= 4:
                    break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    _, err = proc.communicate()
    assert done >= 4, err.decode()[-2000:]
    killed = json.loads(progress.read_text())
    assert not killed["complete"], "the child finished before the kill: nothing was tested"
    print("killed after", killed["problems_done"], "problems;", out.stat().st_size - killed["bytes"],
          "bytes past the marker")
    resumed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # The killed run's lock is stale: taken over with a warning, and gone after a clean end.
    assert f"warning: {out}.lock was left by a run that did not finish" in resumed.stderr
    assert not Path(f"{out}.lock").exists()
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["problems_written"] == NUM_PROBLEMS - killed["problems_done"]
    assert out.read_bytes() == ref.read_bytes()


def test_stop_strings_cut_text_and_count_tokens():
    import numpy as np
    from mathft_jax.decoding import FINISH_EOS, FINISH_LENGTH, FINISH_STOP
    from mathft_jax.decoding.stop_strings import cut_at_stop as _cut
    vocab = kit.BYTES
    tokens = vocab.encode("x = 2.\n\nProblem: more")
    logprobs = -np.arange(1, len(tokens) + 1, dtype=np.float32) / 100
    text, logprob, n, reason = _cut(tokens, logprobs, FINISH_LENGTH, vocab, vocab.eos_id,
                                    ["\n\nProblem:"])
    assert (text, reason, n) == ("x = 2.", "eos", len("x = 2.\n\nProblem:"))
    np.testing.assert_allclose(logprob, logprobs[:n].sum(), rtol=1e-6)
    # EOS is dropped from the text but counted; no stop string leaves the text whole.
    text, logprob, n, reason = _cut(tokens[:3] + [vocab.eos_id], logprobs, FINISH_EOS, vocab,
                                    vocab.eos_id, ["\n\nProblem:"])
    assert (text, reason, n) == ("x =", "eos", 4)
    text, _, n, reason = _cut(tokens[:9], logprobs, FINISH_STOP, vocab, vocab.eos_id,
                              ["\n\nP"])
    assert (text, reason, n) == ("x = 2.", "eos", 9)


def _fake_pretrained(monkeypatch, config=MODEL, bos_id=7):
    """`load_pretrained` returning random_init's params (key 0) under a pretrained name."""
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    from mathft_jax.models import Decoder, pretrained
    calls = []

    def fake(name, param_dtype="float32", **kw):
        calls.append((name, param_dtype))
        params = nn.unbox(jax.jit(lambda k: Decoder(config).init(
            k, jnp.zeros((1, 8), jnp.int32))["params"])(jax.random.key(0)))
        return pretrained.Pretrained(config=config, params=params, vocabulary=None,
                                     bos_id=bos_id, source=name)
    monkeypatch.setattr(pretrained, "load_pretrained", fake)
    return calls


def test_pretrained_checkpoint_loads_params_and_prepends_bos(reference, tmp_path, monkeypatch):
    ref, _ = reference
    calls = _fake_pretrained(monkeypatch)
    # Same weights as random_init, no BOS: the same texts as the reference.
    plain = tmp_path / "plain.jsonl"
    _infer(plain, checkpoint="pretrained:fake")
    assert calls == [("fake", "float32")]
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("checkpoint", "sampling")}
                          for r in rows]
    read = lambda p: [json.loads(line) for line in p.read_text().splitlines()]
    assert strip(read(plain)) == strip(read(ref))
    assert all(r["checkpoint"] == "pretrained:fake" and r["sampling"]["bos_id"] is None
               for r in read(plain))
    # prepend_bos takes the pretrained model's BOS id, records it, and changes the decodes.
    bos = tmp_path / "bos.jsonl"
    _infer(bos, checkpoint="pretrained:fake", prepend_bos=True)
    rows = read(bos)
    assert all(r["sampling"]["bos_id"] == 7 for r in rows)
    assert json.loads((tmp_path / "bos.jsonl.progress").read_text())["settings"]["bos_id"] == 7
    assert [r["text"] for r in rows] != [r["text"] for r in read(plain)]
    # An explicit bos_id wins; a different BOS is a different run (refused on resume).
    from mathft_jax.errors import ConfigError
    with pytest.raises(ConfigError, match="bos_id"):
        _infer(bos, checkpoint="pretrained:fake", prepend_bos=True, bos_id=3)


def test_pretrained_checkpoint_errors(tmp_path, monkeypatch):
    import dataclasses
    from mathft_jax.params_source import ParamsSourceError
    _fake_pretrained(monkeypatch, config=dataclasses.replace(MODEL, num_layers=2))
    with pytest.raises(ParamsSourceError, match="num_layers: 1 \\(gin\\) vs 2"):
        _infer(tmp_path / "a.jsonl", checkpoint="pretrained:fake")
    with pytest.raises(ParamsSourceError, match="needs a model name"):
        _infer(tmp_path / "b.jsonl", checkpoint="pretrained:")
    # The byte vocabulary has no BOS and random_init none either.
    with pytest.raises(ParamsSourceError, match="bind infer.bos_id"):
        _infer(tmp_path / "c.jsonl", prepend_bos=True)


def test_a_second_run_on_a_locked_output_is_refused_before_anything_loads(tmp_path,
                                                                          monkeypatch):
    from mathft_jax import infer as infer_module
    from mathft_jax.training import run_lock
    out = tmp_path / "cands.jsonl"
    monkeypatch.setattr(infer_module, "load_params", lambda *a, **k: pytest.fail("loaded"))

    @run_lock.releases_locks
    def other_run():
        run_lock.hold_output(out, "infer.output_file")
        with pytest.raises(run_lock.RunInUseError,
                           match=rf"^{out} is in use by another run \(pid {os.getpid()} on .*"
                                 r"choose another infer.output_file"):
            _infer(out)

    other_run()
    assert not out.exists() and not Path(f"{out}.progress").exists()
