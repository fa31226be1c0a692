"""Continuous batching: greedy rows equal `generate`'s, samples do not depend on the number
of rows, their slots or what ran before them, and refills never recompile."""

import numpy as np
import pytest
import jax

from mathft_jax.decoding import Greedy, Sampling, generate
from mathft_jax.decoding.continuous import TRACE_COUNTS, ContinuousDecoder, Request

L, EOS, P, N = 12, 5, 8, 3
RULE = Sampling(0.9, top_p=0.95)


def _key():
    """The runs' key, made when a test runs: JAX must not start at import (a mutation run
    forks after collecting the tests, and a forked JAX runtime can deadlock)."""
    return jax.random.PRNGKey(3)


# The README's promise for log-probs across batch sizes and CPUs (tokens are compared exactly).
LOGPROB_ATOL = 1e-5


@pytest.fixture(scope="module")
def prompts():
    rng = np.random.default_rng(0)
    return [tuple(rng.integers(6, 64, size=rng.integers(2, 9)).tolist()) for _ in range(7)]


def _run(tiny, prompts, rows, greedy, first=0):
    cfg, params = tiny
    decoder = ContinuousDecoder(params, cfg, rows=rows, group_rows=N, prompt_bucket=P,
                                max_new_tokens=L, sampling=RULE, eos_id=EOS, rng=_key())
    requests = [Request(p, i, n, greedy(n), (i, n)) for i, p in enumerate(prompts)
                for n in range(N)][first * N:]
    results = {f.request.tag: f for f in decoder.run(iter(requests))}
    assert sorted(results) == sorted(r.tag for r in requests)
    return results


def _as_lists(results):
    return {k: (f.tokens.tolist(), f.logprobs.tolist(), f.finish_reason)
            for k, f in results.items()}


@pytest.mark.parametrize("rows", [3, 10])
def test_greedy_rows_equal_generate(tiny, prompts, rows):
    cfg, params = tiny
    ref = generate(params, cfg, list(prompts), num_decodes=N, max_new_tokens=L,
                   sampling=Greedy(), eos_id=EOS, row_ids=list(range(7)), padded_length=P)
    got = _run(tiny, prompts, rows, greedy=lambda n: True)
    for (i, n), f in got.items():
        length = ref.lengths[i, n]
        assert f.tokens.tolist() == ref.tokens[i, n, :length].tolist()
        assert f.finish_reason == ref.finish_reasons[i, n]
        np.testing.assert_allclose(f.logprobs, ref.logprobs[i, n], atol=1e-5)


def test_samples_equal_generate_draws(tiny, prompts):
    """Same keys as `generate` with row_ids: the same draws (tiny model: same tokens)."""
    cfg, params = tiny
    ref = generate(params, cfg, list(prompts), num_decodes=N, max_new_tokens=L,
                   sampling=RULE, eos_id=EOS, rng=_key(), row_ids=list(range(7)),
                   padded_length=P)
    got = _run(tiny, prompts, 4, greedy=lambda n: False)
    assert {k: f.tokens.tolist() for k, f in got.items()} == {
        (i, n): ref.tokens[i, n, :ref.lengths[i, n]].tolist() for i in range(7)
        for n in range(N)}
    lengths = sorted(len(f.tokens) for f in got.values())
    assert lengths[0] < L == lengths[-1], "rows of varied lengths exercise refills"


def _assert_same_rows(got, reference):
    """Same keys, tokens and finish reasons; log-probs within LOGPROB_ATOL (XLA CPU rounds a
    matmul differently per batch shape and per CPU: up to 1e-6 was seen on an AMD EPYC
    without AVX-512 between 3 and 10 rows)."""
    assert sorted(got) == sorted(reference)
    for key, (tokens, logprobs, reason) in reference.items():
        assert got[key][0] == tokens and got[key][2] == reason, key
        np.testing.assert_allclose(got[key][1], logprobs, rtol=0, atol=LOGPROB_ATOL)


def test_rows_do_not_depend_on_batching_or_resume(tiny, prompts):
    mixed = lambda n: n == 0  # one greedy row and two sampled rows per prompt
    reference = _as_lists(_run(tiny, prompts, N, mixed))
    _assert_same_rows(_as_lists(_run(tiny, prompts, 10, mixed)), reference)
    _assert_same_rows(_as_lists(_run(tiny, prompts, 21, mixed)), reference)
    resumed = _as_lists(_run(tiny, prompts, 6, mixed, first=2))
    _assert_same_rows(resumed, {k: v for k, v in reference.items() if k[0] >= 2})


def test_refills_do_not_recompile(tiny, prompts):
    start = dict(TRACE_COUNTS)
    _run(tiny, prompts, 7, lambda n: n == 0)  # 7 rows: no other test's shape, so it traces
    before = dict(TRACE_COUNTS)
    # The counters count (else the check below could not fail): one more trace of each.
    assert before["steps"] > start.get("steps", 0) and before["refill"] > start.get("refill", 0)
    _run(tiny, prompts[::-1], 7, lambda n: n == 0)  # other prompts, lengths, refills
    assert dict(TRACE_COUNTS) == before


def test_group_rows_validated(tiny):
    cfg, params = tiny
    with pytest.raises(ValueError, match="group_rows"):
        ContinuousDecoder(params, cfg, rows=2, group_rows=3, prompt_bucket=P,
                          max_new_tokens=L, sampling=RULE, eos_id=EOS, rng=_key())
