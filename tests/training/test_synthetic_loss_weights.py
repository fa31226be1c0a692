"""The real training input pipeline of the synthetic benchmark carries loss on the solution
only: in the packed batches `train_batches("synthetic_sft", ...)` yields, every prompt token
("Problem: ... Solution:") has weight 0 and every solution token (EOS included) weight 1."""

import numpy as np

import tasks  # noqa: F401  (registers the synthetic tasks)
from mathft_jax.data import task_options
from mathft_jax.data.task_lookup import get_task
from mathft_jax.training import data
from mathft_jax.training.objective import sft_objective


def test_prompt_tokens_carry_no_loss_in_packed_synthetic_batches():
    # A small train split: the records are built faster.
    task_options.set_current(task_options.TaskOptions(
        synthetic=task_options.SyntheticTaskOptions(num_train=64)))
    lengths = sft_objective().feature_lengths(get_task("synthetic_sft"), 256, None)
    batch = next(data.train_batches("synthetic_sft", lengths, 2, seed=0))
    vocab = get_task("synthetic_sft").output_features["targets"].vocabulary
    segments = 0
    for tokens, weights, seg in zip(batch["decoder_target_tokens"],
                                    batch["decoder_loss_weights"],
                                    batch["decoder_segment_ids"]):
        assert not weights[seg == 0].any()  # padding
        for s in sorted(set(seg.tolist()) - {0}):
            w, t = weights[seg == s], tokens[seg == s]
            n_prompt = int(np.argmax(w > 0))
            assert n_prompt > 0 and vocab.eos_id not in t[:n_prompt].tolist()
            np.testing.assert_array_equal(w, [0] * n_prompt + [1] * (len(w) - n_prompt))
            prompt, solution = vocab.decode(t[:n_prompt].tolist()), vocab.decode(
                t[n_prompt:].tolist())
            assert prompt.startswith("Problem:\n") and prompt.endswith("\n\nSolution:\n")
            # The solution (cut at 128 tokens for a long one), then EOS.
            assert solution.strip() and "Problem" not in solution
            assert "Solution:" not in solution and t[-1] == vocab.eos_id
            segments += 1
    assert segments >= 2
