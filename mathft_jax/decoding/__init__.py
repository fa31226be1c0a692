"""Decoding: sampling rules, the compiled KV-cache decode loop, and continuation scoring.

Example:
    from mathft_jax.decoding import Sampling, generate, score_continuations
    out = generate(params, cfg, prompts, num_decodes=8, max_new_tokens=256,
                   sampling=Sampling(temperature=0.9, top_p=0.95), eos_id=1, rng=key)
"""

from mathft_jax.decoding.decode_loop import (FINISH_EOS, FINISH_LENGTH, FINISH_REASONS,
                                             FINISH_STOP, DecodeOutput, bucket_length,
                                             generate, left_pad)
from mathft_jax.decoding.sampling import Greedy, Sampling, SamplingRule, from_dict
from mathft_jax.decoding.scoring import (LabelScores, ScoreOutput, label_word_probs,
                                         score_continuations)

__all__ = ["FINISH_EOS", "FINISH_LENGTH", "FINISH_REASONS", "FINISH_STOP", "DecodeOutput",
           "bucket_length", "generate", "left_pad", "Greedy", "Sampling", "SamplingRule",
           "from_dict", "LabelScores", "ScoreOutput", "label_word_probs", "score_continuations"]
