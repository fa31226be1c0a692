"""Checks an export the way its users see it: loaded by Hugging Face `transformers`.

`compare_with_transformers` loads an `export_safetensors` directory with
`AutoModelForCausalLM` (Gemma3ForCausalLM or LlamaForCausalLM, from config.json), runs the
same prompts through it and through our Decoder, and reports the largest logit difference and
whether greedy continuations agree token for token. Needs the `hf` extra (transformers, torch).

Example:
    export_safetensors(config, params, "out/hf")
    result = compare_with_transformers(config, params, "out/hf", [[2, 17, 99]], 32, eos_id=1)
    result.max_abs_logit_delta   # float32 noise, e.g. 1e-5 for a tiny model
    result.greedy_equal          # [True]
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

import jax.numpy as jnp
import numpy as np

from mathft_jax.decoding.decode_loop import generate
from mathft_jax.models import Decoder
from mathft_jax.models.config import ModelConfig


@dataclasses.dataclass
class Comparison:
    """Per prompt: our and transformers' greedy continuations; over all: max |logit delta|."""

    max_abs_logit_delta: float
    max_abs_logit: float
    ours: list[list[int]]
    theirs: list[list[int]]

    @property
    def greedy_equal(self) -> list[bool]:
        return [a == b for a, b in zip(self.ours, self.theirs)]


def load_transformers_model(export_dir: str | os.PathLike):
    """The exported model as a float32 `transformers` causal LM in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(export_dir), dtype=torch.float32,
                                                 attn_implementation="eager")
    return model.eval()


def _their_greedy(model, prompt: Sequence[int], max_new_tokens: int,
                  eos_id: Optional[int]) -> list[int]:
    import torch
    ids = torch.tensor([list(prompt)])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=max_new_tokens, min_new_tokens=0,
                             eos_token_id=eos_id, pad_token_id=0)
    new = out[0, len(prompt):].tolist()
    return new[:new.index(eos_id) + 1] if eos_id in new else new


def compare_with_transformers(config: ModelConfig, params, export_dir: str | os.PathLike,
                              prompts: Sequence[Sequence[int]], max_new_tokens: int,
                              eos_id: Optional[int]) -> Comparison:
    """Logits on every prompt position and greedy continuations, ours vs transformers'.

    `max_new_tokens=0` compares the logits only.
    """
    import torch
    model = load_transformers_model(export_dir)
    delta, top = 0.0, 0.0
    for prompt in prompts:
        ours = np.asarray(Decoder(config).apply({"params": params},
                                                jnp.asarray([list(prompt)], jnp.int32)))
        with torch.no_grad():
            theirs = model(torch.tensor([list(prompt)])).logits.float().numpy()
        delta = max(delta, float(np.max(np.abs(ours - theirs))))
        top = max(top, float(np.max(np.abs(ours))))
    if max_new_tokens == 0:  # logits only
        return Comparison(max_abs_logit_delta=delta, max_abs_logit=top, ours=[], theirs=[])
    out = generate(params, config, [list(p) for p in prompts], max_new_tokens=max_new_tokens,
                   eos_id=eos_id)
    mine = [out.tokens[i, 0, :out.lengths[i, 0]].tolist() for i in range(len(prompts))]
    return Comparison(max_abs_logit_delta=delta, max_abs_logit=top, ours=mine,
                      theirs=[_their_greedy(model, p, max_new_tokens, eos_id) for p in prompts])
