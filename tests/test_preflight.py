"""preflight: every bad setting of an entry point is named at once, before any work."""

import pytest

from mathft_jax import preflight
from mathft_jax.decoding.sampling import Sampling
from mathft_jax.errors import ConfigError


def test_check_infer_names_every_bad_setting(tmp_path):
    with pytest.raises(ConfigError) as info:
        preflight.check_infer(greedy=True, num_samples=-2, max_new_tokens=0, batch_size=True,
                              chunk_problems=0, max_prompt_length=1, prepend_bos=True,
                              checkpoint=str(tmp_path / "nowhere"))
    message = str(info.value)
    for part in ("infer.num_samples must be >= 0, got -2",
                 "infer.max_new_tokens must be >= 1, got 0",
                 "infer.batch_size must be >= 1, got True",
                 "infer.chunk_problems must be None or >= 1, got 0",
                 "infer.max_prompt_length must be None or >= 2, got 1",
                 f"infer.checkpoint {tmp_path / 'nowhere'}: no such file or directory"):
        assert part in message
    preflight.check_infer(greedy=False, num_samples=1, sampling=Sampling(),
                          output_file=str(tmp_path / "new" / "c.jsonl"), checkpoint="random_init")


def test_check_train_and_evaluate(tmp_path):
    with pytest.raises(ConfigError, match="train.inputs_length \\(64\\) must be < "
                                          "sequence_length \\(64\\)"):
        preflight.check_train(train_steps=1, batch_size=1, sequence_length=64, inputs_length=64)
    with pytest.raises(ConfigError, match=r"evaluate.pass_ks must be a non-empty list of ints "
                                          r">= 1, got \(0, 4\); evaluate.rerank_k"):
        preflight.check_evaluate(candidates_file=__file__, output_dir=str(tmp_path),
                                 scores_file=None, gold_file=None, pass_ks=(0, 4), maj_ks=(4,),
                                 rerank_k=0, num_bootstrap=10, curve_repeats=1)
