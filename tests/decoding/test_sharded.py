"""generate / score_continuations on 8 simulated CPU devices equal the 1-device results."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import flax.linen as nn, jax, jax.numpy as jnp, numpy as np
    from mathft_jax import partitioning
    from mathft_jax.decoding import Sampling, generate, score_continuations
    from mathft_jax.models import Decoder
    from tests import kit
    assert jax.device_count() == 8, jax.devices()
    cfg = kit.tiny_config(vocab_size=64, embed_dim=32, mlp_dim=64, head_dim=8)
    boxed = Decoder(cfg).init(jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32))["params"]
    params = nn.meta.unbox(boxed)
    prompts = [[5, 6, 7, 8, 9], [3], [10, 11, 12]]   # 3 prompts: padded to the mesh's 4
    kw = dict(num_decodes=2, max_new_tokens=10, sampling=Sampling(temperature=1.2, top_p=0.9),
              eos_id=2, rng=jax.random.PRNGKey(1))
    ref = generate(params, cfg, prompts, **kw)
    ref_scores = score_continuations(params, cfg, prompts, [[1, 2], [3], [4, 5, 6]])
    mesh = partitioning.make_mesh(data=2, fsdp=2, tensor=2)
    sharded = jax.device_put(params, partitioning.logical_to_sharding(boxed, mesh))
    out = generate(sharded, cfg, prompts, mesh=mesh,
                   logical_axis_rules=partitioning.DEFAULT_RULES, **kw)
    scores = score_continuations(sharded, cfg, prompts, [[1, 2], [3], [4, 5, 6]], mesh=mesh,
                                 logical_axis_rules=partitioning.DEFAULT_RULES)
    np.testing.assert_array_equal(out.tokens, ref.tokens)
    np.testing.assert_array_equal(out.lengths, ref.lengths)
    np.testing.assert_allclose(out.logprobs, ref.logprobs, atol=1e-4)
    np.testing.assert_allclose(scores.total, ref_scores.total, atol=1e-4)
    print("SHARDED_OK")
""")


def test_sharded_decode_matches_single_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "SHARDED_OK" in result.stdout, result.stderr[-3000:]
