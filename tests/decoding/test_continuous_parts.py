"""Continuous batching's parts that need no model, by hand: one step's bookkeeping (`_emit`),
the token choice per row (`_pick`), the empty state, the request stream's grouping by prompt
and the argument checks. (`test_continuous.py` checks whole runs against `generate`.)"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding import Greedy, Sampling, continuous
from mathft_jax.decoding.continuous import (ContinuousDecoder, Request, _emit,
                                            _initial_state, _Lookahead, _pick, _Static)
from mathft_jax.decoding.decode_loop import FINISH_EOS, FINISH_LENGTH, FINISH_STOP
from tests.decoding.conftest import TINY

EOS, PAD = 5, 0


def _static(**overrides):
    fields = dict(config=TINY, sampling=Greedy(), rows=6, group_rows=2, prompt_bucket=4,
                  max_new_tokens=3, eos_id=EOS, stop_sequences=((7, 8), (6,), (5,)), pad_id=PAD)
    return _Static(**{**fields, **overrides})


def test_the_window_is_the_longest_stop_sequence():
    assert _static().window == 2
    assert _static(stop_sequences=((1, 2, 3), (4,))).window == 3
    assert _static(stop_sequences=()).window == 0


def _step_state():
    """Six rows before a step (max_new_tokens 3, stops (7, 8), (6,), (5,), EOS 5):
    0 at t 0; 1 at t 1 after a 7; 2 at t 2 after 3, 4; 3 done (EOS at t 1); 4 and 5 at t 0."""
    return dict(
        done=jnp.array([False, False, False, True, False, False]),
        t=jnp.array([0, 1, 2, 1, 0, 0], jnp.int32),
        token=jnp.array([9, 7, 4, 5, 9, 9], jnp.int32),
        recent=jnp.array([[-1, -1], [-1, 7], [3, 4], [6, 6], [-1, -1], [-1, -1]], jnp.int32),
        reason=jnp.full((6,), FINISH_LENGTH, jnp.int32).at[3].set(FINISH_EOS),
        tokens=jnp.array([[0, 0, 0], [7, 0, 0], [3, 4, 0], [4, 5, 0], [0, 0, 0], [0, 0, 0]],
                         jnp.int32),
        logprobs=jnp.array([[0, 0, 0], [-.5, 0, 0], [-.5, -.5, 0], [-.5, -.25, 0], [0, 0, 0],
                            [0, 0, 0]], jnp.float32),
        lengths=jnp.array([0, 1, 2, 2, 0, 0], jnp.int32),
        other=jnp.arange(6))


def test_one_step_records_tokens_and_stops_rows_by_hand():
    before = _step_state()
    after = _emit(_static(), before, jnp.array([5, 8, 2, 7, 6, 3], jnp.int32),
                  jnp.array([-1, -2, -4, -8, -16, -32], jnp.float32))
    # Row 0: EOS (also the stop (5,): EOS is the reason). Row 1: the stop (7, 8). Row 2: its
    # third token, the length limit. Row 3 was done: nothing changes. Row 4: the stop (6,).
    # Row 5 goes on.
    assert after["done"].tolist() == [True, True, True, True, True, False]
    assert after["reason"].tolist() == [FINISH_EOS, FINISH_STOP, FINISH_LENGTH, FINISH_EOS,
                                        FINISH_STOP, FINISH_LENGTH]
    assert after["t"].tolist() == [1, 2, 3, 1, 1, 1]
    assert after["lengths"].tolist() == [1, 2, 3, 2, 1, 1]
    assert after["token"].tolist() == [5, 8, 2, 5, 6, 3]
    assert after["recent"].tolist() == [[-1, 5], [7, 8], [4, 2], [6, 6], [-1, 6], [-1, 3]]
    assert after["tokens"].tolist() == [[5, 0, 0], [7, 8, 0], [3, 4, 2], [4, 5, 0], [6, 0, 0],
                                        [3, 0, 0]]
    assert after["logprobs"].tolist() == [[-1, 0, 0], [-.5, -2, 0], [-.5, -.5, -4],
                                          [-.5, -.25, 0], [-16, 0, 0], [-32, 0, 0]]
    assert after["other"].tolist() == list(range(6))  # other entries are carried over


def test_without_eos_or_stops_only_the_length_ends_a_row():
    s = _static(eos_id=None, stop_sequences=())
    state = _step_state()
    state["recent"] = jnp.full((6, 1), -1, jnp.int32)
    after = _emit(s, state, jnp.array([5, 8, 2, 7, 6, 3], jnp.int32), jnp.zeros(6))
    assert after["done"].tolist() == [False, False, True, True, False, False]
    assert after["reason"].tolist() == [FINISH_LENGTH] * 3 + [FINISH_EOS] + [FINISH_LENGTH] * 2
    assert after["recent"].tolist() == [[-1]] * 6  # no window: nothing kept


def test_a_row_reaching_its_last_step_with_eos_ends_by_eos():
    s = _static(max_new_tokens=1, stop_sequences=())
    state = {k: v[:2] for k, v in _step_state().items()}
    state.update(t=jnp.zeros(2, jnp.int32), recent=jnp.full((2, 1), -1, jnp.int32),
                 tokens=jnp.zeros((2, 1), jnp.int32), logprobs=jnp.zeros((2, 1)))
    after = _emit(s, state, jnp.array([EOS, 3], jnp.int32), jnp.array([-1., -2.]))
    assert after["done"].tolist() == [True, True]
    assert after["reason"].tolist() == [FINISH_EOS, FINISH_LENGTH]
    assert after["tokens"].tolist() == [[EOS], [3]] and after["lengths"].tolist() == [1, 1]


def test_the_empty_state_by_hand():
    s = _static(pad_id=3)
    state = _initial_state(s, jax.random.PRNGKey(1))
    assert state["done"].tolist() == [True] * 6 and state["greedy"].tolist() == [True] * 6
    assert state["t"].tolist() == [1] * 6 and state["prompt_length"].tolist() == [1] * 6
    assert state["token"].tolist() == [0] * 6 and state["lengths"].tolist() == [0] * 6
    assert state["reason"].tolist() == [FINISH_LENGTH] * 6
    assert state["recent"].tolist() == [[-1, -1]] * 6
    assert state["tokens"].tolist() == [[3, 3, 3]] * 6
    assert state["logprobs"].tolist() == [[0.0] * 3] * 6
    for key in ("token", "t", "prompt_length", "recent", "reason", "tokens", "lengths"):
        assert state[key].dtype == jnp.int32, key
    assert state["logprobs"].dtype == jnp.float32
    assert state["done"].dtype == state["greedy"].dtype == jnp.bool_  # `~done` in each step
    # No weakly typed field: jit traces a weak int32 apart from a strong one, so the first
    # refill and steps would be compiled again once a step has made the field strong.
    assert not [leaf for leaf in jax.tree_util.tree_leaves(state) if leaf.weak_type]
    np.testing.assert_array_equal(jax.random.key_data(state["key"]), np.stack(
        [jax.random.key_data(jax.random.fold_in(jax.random.PRNGKey(1), 0))] * 6))
    # One cache row per decode row, P + L slots.
    assert state["cache"]["k"][0].shape[:2] == (6, 4 + 3)
    assert _initial_state(_static(stop_sequences=()), jax.random.PRNGKey(1))[
        "recent"].shape == (6, 1)


def test_greedy_rows_take_the_arg_max_and_sampled_rows_draw_with_their_step_key():
    # Vocabulary-major logits [V = 4, R = 3]: column 0 has probabilities (1, 1, 2, 1) / 5.
    logits = jnp.array([[0., 0., 0.], [0., 0., 0.], [np.log(2.), 0., 0.], [0., 0., 0.]])
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(0), i))(jnp.arange(3))
    t = jnp.array([0, 4, 5], jnp.int32)
    greedy = jnp.array([True, True, False])
    tokens, logprobs = _pick(_static(), logits, keys, t, greedy)  # a greedy decoder
    assert tokens.tolist() == [2, 0, 0]
    np.testing.assert_allclose(logprobs, np.log([2 / 5, 1 / 4, 1 / 4]), rtol=1e-6)

    rule = Sampling(1.0)
    tokens, logprobs = _pick(_static(sampling=rule), logits, keys, t, greedy)
    drawn, _ = rule.sample(logits, jax.vmap(jax.random.fold_in)(keys, t), vocab_axis=0)
    assert tokens.tolist() == [2, 0, int(drawn[2])]
    np.testing.assert_allclose(logprobs, np.log([2 / 5, 1 / 4, 1 / 4]), rtol=1e-6)
    # The step matters: over steps 0..19 the sampled row draws more than one token.
    seen = {int(_pick(_static(sampling=rule), logits, keys, jnp.full((3,), step, jnp.int32),
                      greedy)[0][2]) for step in range(20)}
    assert len(seen) > 1


def _request(prompt, n):
    return Request(prompt=prompt, seed_id=0, sample_index=n, greedy=False, tag=n)


def test_the_stream_is_taken_in_groups_of_one_prompt():
    a, b = (1, 2), (3,)
    stream = _Lookahead(iter([_request(a, 0), _request(a, 1), _request(a, 2), _request(b, 3),
                              _request(a, 4)]))
    assert stream.peek().tag == 0 and stream.peek().tag == 0  # a look takes nothing
    assert stream.group_size(2) == 2 and stream.group_size(5) == 3
    assert [r.tag for r in stream.take_group(2)] == [0, 1]
    assert stream.group_size(1) == 1
    assert [r.tag for r in stream.take_group(4)] == [2]
    assert [r.tag for r in stream.take_group(4)] == [3]
    assert stream.group_size(4) == 1
    assert [r.tag for r in stream.take_group(4)] == [4]
    assert stream.peek() is None


def test_group_rows_and_max_new_tokens_are_checked():
    kwargs = dict(params={}, config=TINY, prompt_bucket=4, sampling=Greedy(), eos_id=EOS,
                  rng=None)
    for rows, group_rows in [(2, 3), (2, 0)]:
        with pytest.raises(ValueError, match=rf"group_rows must be in \[1, rows={rows}\], "
                                             rf"got {group_rows}"):
            ContinuousDecoder(rows=rows, group_rows=group_rows, max_new_tokens=2, **kwargs)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1, got 0"):
        ContinuousDecoder(rows=2, group_rows=1, max_new_tokens=0, **kwargs)
    for rows, group_rows in [(2, 2), (2, 1), (1, 1)]:
        ContinuousDecoder(rows=rows, group_rows=group_rows, max_new_tokens=1, **kwargs)


def test_the_decoder_passes_its_settings_to_the_compiled_steps():
    decoder = ContinuousDecoder({}, TINY, rows=6, group_rows=2, prompt_bucket=4,
                                max_new_tokens=3, sampling=Greedy(), eos_id=EOS, rng=None,
                                stop_sequences=[[7, 8], (6,), [5]], pad_id=PAD + 3)
    assert decoder._static == _static(pad_id=PAD + 3)


def test_the_decoder_hands_its_mesh_and_axis_rules_to_both_compiled_functions(monkeypatch):
    monkeypatch.setattr(continuous, "_compiled", lambda *a: a)  # (fn, static, mesh, rules)
    mesh = object()
    boxed = {"w": nn.Partitioned(np.arange(3), names=("embed",))}
    decoder = ContinuousDecoder(boxed, TINY, rows=6, group_rows=2, prompt_bucket=4,
                                max_new_tokens=3, sampling=Greedy(), eos_id=EOS, rng=None,
                                stop_sequences=((7, 8), (6,), (5,)), mesh=mesh,
                                logical_axis_rules=[["batch", "data"], ("embed", None)])
    rules = (("batch", "data"), ("embed", None))
    assert decoder._refill == (continuous._refill, _static(), mesh, rules)
    assert decoder._steps == (continuous._steps, _static(), mesh, rules)
    assert decoder._params["w"].tolist() == [0, 1, 2]  # unboxed
    plain = ContinuousDecoder({}, TINY, rows=6, group_rows=2, prompt_bucket=4,
                              max_new_tokens=3, sampling=Greedy(), eos_id=EOS, rng=None,
                              logical_axis_rules=None)
    assert plain._refill[2:] == plain._steps[2:] == (None, ())
