"""Side by side with Tunix (`google-tunix`, the `peers` extra): training, sampling, scoring.

    pip install -e '.[peers,gemma]'          # in a separate venv: Tunix pulls ~45 packages
    python benchmarks/peers.py                # small decoder SFT + Gemma 3 270M sampling/scoring
    python benchmarks/peers.py --gemma_train  # also an SFT step of Gemma 3 270M (~8 GB a side)

Every figure is measured in this one process, on the same devices, with the same weights
(ours mapped into Tunix's Gemma3 by `mathft_jax.models.tunix_export`) and the same shapes, and
is printed with the ratio ours / theirs (> 1: we are faster). Times are the median (training)
or best (sampling, scoring) after a call that compiles; on a shared machine both sides see the
same load, so the ratio is steadier than either number.

  (a) SFT step: our `training.train_step.make_train_step` vs the jitted step of Tunix's
      `sft.peft_trainer.PeftTrainer` (what `PeftTrainer.train` calls per batch), same
      Gemma-3-shaped decoder, same AdamW (clip 1.0, b2 0.95, decay 0.01 off norms and
      embeddings, same schedule), loss on the second half of each row only. The first
      step's losses are printed side by side (same weights, same batch: they must agree).
      MFU = 3 x ModelConfig.flops_per_token x tokens / step time / the float32 matmul peak
      (`_peak.matmul_peak`, best of several measurements in this process).
  (b) Sampling, Gemma 3 270M (needs the `gemma` extra): our `decoding.generate` vs Tunix's
      `generate.sampler.Sampler`, the same MATH problems as prompts (BOS + exactly
      `--prompt_len - 1` tokens, so neither side pads), `--new_tokens` new tokens (EOS off),
      greedy and temperature 0.7 / top-k 64 / top-p 0.95. Greedy outputs are compared token
      for token first.
  (c) Scoring: our `decoding.score_continuations` vs Tunix's `rl.common.compute_per_token_logps`
      (its per-token log-likelihood pass, used for GRPO/PPO), continuations = the greedy
      outputs; the summed log-probs are compared.

Without Tunix the script prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from _peak import matmul_peak  # benchmarks/_peak.py (the script's folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
MATH_TRAIN = REPO.parent / "shared" / "data" / "math" / "train.jsonl"
SAMPLING = dict(temperature=0.7, top_k=64, top_p=0.95)


def small_gemma3_config(vocab_size: int):
    """A small Gemma-3-shaped decoder (the `small` preset's sizes, Gemma 3's layout)."""
    from mathft_jax.models import ModelConfig
    return ModelConfig(vocab_size=vocab_size, num_layers=6, embed_dim=512, mlp_dim=2048,
                       num_heads=8, num_kv_heads=8, head_dim=64, mlp_activation="gelu_tanh",
                       rope_base=1e6, local_rope_base=1e4, sliding_window=128,
                       local_global_pattern="LLLLLG", qk_norm=True, post_attention_norm=True,
                       post_mlp_norm=True, tie_embeddings=True, scale_embeddings=True,
                       scan_layers=False, max_seq_len=1024)


class Peaks:
    """The best float32 matmul FLOP/s seen so far (sampled between measurements)."""

    def __init__(self):
        self.values = [matmul_peak()]

    def sample(self) -> None:
        self.values.append(matmul_peak(repeats=3))

    @property
    def best(self) -> float:
        return max(self.values)


def ratio_line(name: str, ours: float, theirs: float, unit: str) -> str:
    return f"{name:<44} {ours:>12,.1f} {theirs:>12,.1f} {ours / theirs:>7.2f}x  {unit}"


# ------------------------------------------------------------------------------ (a) SFT step

def _decay_mask_tunix(params):
    """Tunix-tree twin of `optimizers.decay_mask`: no decay on norm scales and embeddings."""
    def keep(path, _):
        name = str(getattr(path[-1], "key", path[-1]))
        if name == "value" and len(path) > 1:  # nnx.Variable leaves end in ".value"
            name = str(getattr(path[-2], "key", path[-2]))
        return name not in ("scale", "input_embedding")
    return jax.tree_util.tree_map_with_path(keep, params)


def sft_batch(cfg, batch: int, seq: int, seed: int = 0) -> dict:
    """Random rows; loss on the second half, with the last slot unscored (its target would be
    past the row, and Tunix's loss shifts inside the row)."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(3, cfg.vocab_size, (batch, seq)).astype(np.int32)
    mask = np.zeros((batch, seq), np.int32)
    mask[:, seq // 2:] = 1
    targets = np.concatenate([tokens[:, 1:], np.zeros((batch, 1), np.int32)], 1)
    weights = np.concatenate([mask[:, 1:], np.zeros((batch, 1), np.int32)], 1)
    return {"tokens": tokens, "mask": mask, "targets": targets, "weights": weights}


def ours_sft(cfg, params, data, schedule, steps: int, peaks: Peaks):
    """(first loss, per-step seconds) of our train step."""
    from mathft_jax import partitioning
    from mathft_jax.training import losses, optimizers, train_state, train_step

    mesh = partitioning.make_mesh()
    opt = optimizers.make_optimizer(schedule, weight_decay=0.01)
    _, shardings = train_state.state_shardings(cfg, opt, mesh)
    state = train_state.state_from_params(params, opt, shardings)
    batch = {"decoder_input_tokens": data["tokens"], "decoder_target_tokens": data["targets"],
             "decoder_loss_weights": data["weights"]}
    step = train_step.make_train_step(losses.make_sft_loss(cfg), opt, mesh, shardings,
                                      {k: 2 for k in batch}, 1, schedule)
    batch = partitioning.make_global_batch(batch, mesh)
    key = jax.random.key(1)
    state, metrics = step(state, batch, key)
    first_loss = float(metrics["loss"])
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        state, metrics = step(state, batch, key)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
        peaks.sample()
    return first_loss, times


def tunix_sft(cfg, params, data, schedule, steps: int, peaks: Peaks, remat: str = "none"):
    """(first loss, per-step seconds) of Tunix's PeftTrainer train step (full fine-tuning)."""
    import optax
    from tunix.generate import utils as gen_utils
    from tunix.sft import peft_trainer

    from mathft_jax.models.tunix_export import to_tunix_gemma3

    model = to_tunix_gemma3(cfg, params, remat=remat)
    optimizer = optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, b1=0.9, b2=0.95, eps=1e-8, weight_decay=0.01,
                    mask=_decay_mask_tunix))
    trainer = peft_trainer.PeftTrainer(
        model, optimizer, peft_trainer.TrainingConfig(eval_every_n_steps=10 ** 9,
                                                      max_steps=steps + 1))
    seq = data["tokens"].shape[1]

    def model_input(x: peft_trainer.TrainingInput):
        valid = x.input_tokens != 0
        return {"input_tokens": x.input_tokens, "input_mask": x.input_mask,
                "positions": gen_utils.build_positions_from_mask(valid),
                "attention_mask": gen_utils.make_causal_attn_mask(valid, seq)}

    trainer.with_gen_model_input_fn(model_input)
    train_step, _ = trainer.jit_train_and_eval_step(cache_nnx_graph=True)
    example = peft_trainer.TrainingInput(input_tokens=jnp.asarray(data["tokens"]),
                                         input_mask=jnp.asarray(data["mask"]))
    loss, _, _ = train_step(example)
    first_loss = float(loss)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss, _, grad_norm = train_step(example)
        jax.block_until_ready((loss, grad_norm))
        times.append(time.perf_counter() - start)
        peaks.sample()
    trainer.close()
    return first_loss, times


def compare_sft(label: str, cfg, params, batch: int, seq: int, steps: int, peaks: Peaks,
                remat: str = "none") -> None:
    from mathft_jax.training import optimizers

    schedule = optimizers.make_schedule(1000, peak_value=1e-4, warmup_steps=10)
    data = sft_batch(cfg, batch, seq)
    ours_loss, ours_t = ours_sft(cfg, params, data, schedule, steps, peaks)
    theirs_loss, theirs_t = tunix_sft(cfg, params, data, schedule, steps, peaks, remat)
    tokens = batch * seq
    flops = 3 * cfg.flops_per_token(seq) * tokens
    ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
    print(f"\n(a) SFT step, {label}: {cfg.num_params() / 1e6:.1f}M params, batch {batch} x "
          f"{seq} tokens, median of {steps} steps after a compile step")
    print(f"    first-step loss: ours {ours_loss:.5f}, Tunix {theirs_loss:.5f}")
    print(ratio_line("    tokens/s", tokens / ours_s, tokens / theirs_s, "tokens/s"))
    print(ratio_line("    MFU %", 100 * flops / ours_s / peaks.best,
                     100 * flops / theirs_s / peaks.best, f"% of {peaks.best / 1e9:.0f} "
                     f"GFLOP/s"))


# -------------------------------------------------------------------- (b) sampling, (c) scoring

class IdTokenizer:
    """A 'tokenizer' over space-separated ids, so Tunix's string-in sampler gets our exact ids.

    Example: encode("17 5 9") == [17, 5, 9]; decode([17, 5]) == "17 5".
    """

    def __init__(self, bos: int, eos: int, pad: int = 0):
        self._bos, self._eos, self._pad = bos, eos, pad

    def encode(self, text: str, **_) -> list[int]:
        return [int(t) for t in text.split()]

    def decode(self, ids, **_) -> str:
        return " ".join(str(int(i)) for i in ids)

    def bos_id(self) -> int:
        return self._bos

    def eos_id(self) -> int:
        return self._eos

    def pad_id(self) -> int:
        return self._pad


def math_prompts(vocab, bos: int, count: int, length: int) -> list[list[int]]:
    """BOS + the first `length - 1` tokens of the first MATH training problems that long."""
    prompts = []
    with open(MATH_TRAIN) as f:
        for line_no, line in enumerate(f, 1):
            try:
                problem = json.loads(line)["problem"]
            except (json.JSONDecodeError, KeyError) as e:
                raise ValueError(f"{MATH_TRAIN}:{line_no}: not a MATH record ({e})") from e
            ids = list(vocab.encode("Problem: " + problem))
            if len(ids) >= length - 1:
                prompts.append([bos] + ids[:length - 1])
            if len(prompts) == count:
                return prompts
    raise ValueError(f"{MATH_TRAIN} has fewer than {count} problems of {length} tokens")


def best_of(fn, repeats: int) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def compare_sampling(cfg, params, model, prompts, batch_sizes: list[int], new_tokens: int,
                     repeats: int, peaks: Peaks) -> dict:
    from tunix.generate import sampler as tunix_sampler

    from mathft_jax.decoding import Greedy, Sampling, generate

    p = len(prompts[0])
    sampler = tunix_sampler.Sampler(
        model, IdTokenizer(bos=prompts[0][0], eos=1),
        tunix_sampler.CacheConfig(cache_size=p + new_tokens, num_layers=cfg.num_layers,
                                  num_kv_heads=cfg.num_kv_heads, head_dim=cfg.head_dim))
    never = [cfg.vocab_size]  # an id no step emits: both sides generate every token
    greedy_out = {}
    print(f"\n(b) sampling, Gemma 3 270M: prompts of {p} tokens (MATH), {new_tokens} new "
          f"tokens, EOS off; best of {repeats} after a compile call; tokens/s = generated "
          f"tokens / wall time of one call (prefill included)")
    for b in batch_sizes:
        rows = prompts[:b]
        strings = [" ".join(str(t) for t in r[1:]) for r in rows]  # Tunix adds the BOS
        for rule_name in ("greedy", "sampled"):
            if rule_name == "greedy":
                ours_fn = lambda: generate(params, cfg, rows, max_new_tokens=new_tokens,
                                           sampling=Greedy(), eos_id=None)
                theirs_fn = lambda: sampler(strings, max_generation_steps=new_tokens,
                                            max_prompt_length=p, eos_tokens=never)
            else:
                ours_fn = lambda: generate(params, cfg, rows, max_new_tokens=new_tokens,
                                           sampling=Sampling(**SAMPLING), eos_id=None,
                                           rng=jax.random.PRNGKey(0))
                theirs_fn = lambda: sampler(strings, max_generation_steps=new_tokens,
                                            max_prompt_length=p, eos_tokens=never, seed=0,
                                            **SAMPLING)
            ours_fn()
            t_ours, ours = best_of(ours_fn, repeats)
            theirs = theirs_fn()
            if not np.array_equal(np.asarray(theirs.padded_prompt_tokens), np.asarray(rows)):
                raise AssertionError("Tunix's padded prompts differ from ours")
            t_theirs, theirs = best_of(theirs_fn, repeats)
            peaks.sample()
            ours_tokens = ours.tokens[:, 0]
            theirs_tokens = np.stack([np.asarray(t) for t in theirs.tokens])
            if theirs_tokens.shape != ours_tokens.shape:
                raise AssertionError(f"Tunix generated {theirs_tokens.shape} tokens, we "
                                     f"{ours_tokens.shape}")
            if rule_name == "greedy":
                greedy_out[b] = (ours_tokens, theirs_tokens)
                print(f"    greedy agreement, batch {b}: {agreement(ours_tokens, theirs_tokens)}")
            n = b * new_tokens
            print(ratio_line(f"    {rule_name:<8} batch {b:>2} (ours, Tunix, ours/Tunix)",
                             n / t_ours, n / t_theirs, "tokens/s"))
    return greedy_out


def agreement(ours: np.ndarray, theirs: np.ndarray) -> str:
    """'identical' or how far rows agree: rows identical, and the first differing step."""
    same = ours == theirs
    if same.all():
        return f"identical ({ours.size} tokens)"
    first = [int(np.argmin(r)) if not r.all() else r.size for r in same]
    return (f"{int(same.all(1).sum())}/{len(same)} rows identical; first difference at step "
            f"{min(first)} (median over rows {int(np.median(first))})")


def compare_scoring(cfg, params, model, prompts, continuations, repeats: int) -> None:
    from flax import nnx
    from tunix.rl import common as tunix_common

    from mathft_jax.decoding import score_continuations

    graphdef, state = nnx.split(model)
    prompt_arr = jnp.asarray(prompts, jnp.int32)
    cont_arr = jnp.asarray(continuations, jnp.int32)
    # Every row has the same length here: pad to exactly it, as Tunix runs it (the default
    # bucket, 64 for 48 tokens, bounds the compiled shapes of mixed-length calls).
    length = len(prompts[0]) + len(continuations[0])
    ours_fn = lambda: score_continuations(params, cfg, prompts, continuations,
                                          padded_length=length)
    theirs_fn = lambda: jax.block_until_ready(tunix_common.compute_per_token_logps(
        graphdef, state, prompt_arr, cont_arr, pad_id=0, eos_id=1))
    ours_fn()
    t_ours, ours = best_of(ours_fn, repeats)
    theirs_fn()
    t_theirs, theirs = best_of(theirs_fn, repeats)
    diff = np.max(np.abs(ours.total - np.asarray(theirs).sum(-1)))
    b, t = len(prompts), len(prompts[0]) + len(continuations[0])
    print(f"\n(c) scoring, Gemma 3 270M: {b} rows of {len(prompts[0])} prompt + "
          f"{len(continuations[0])} continuation tokens; max |sum log p| difference {diff:.2e}")
    print(ratio_line("    scored tokens/s (rows x prompt+continuation)", b * t / t_ours,
                     b * t / t_theirs, "tokens/s"))


def gemma_section(args, peaks: Peaks) -> None:
    from mathft_jax.models import load_pretrained
    from mathft_jax.models.tunix_export import to_tunix_gemma3

    try:
        pretrained = load_pretrained("gemma3_270m")
    except ImportError as e:
        print(f"\n(b), (c) skipped: {e}")
        return
    cfg, params = pretrained.config, pretrained.params
    model = to_tunix_gemma3(cfg, params)
    prompts = math_prompts(pretrained.vocabulary, pretrained.bos_id, max(args.batch_sizes),
                           args.prompt_len)
    if not args.skip_sampling:
        greedy = compare_sampling(cfg, params, model, prompts, args.batch_sizes,
                                  args.new_tokens, args.repeats, peaks)
        b = args.score_batch
        ours_tokens, _ = greedy[max(args.batch_sizes)]
        compare_scoring(cfg, params, model, prompts[:b], ours_tokens[:b].tolist(),
                        args.repeats)
    del model
    if args.gemma_train:
        compare_sft("Gemma 3 270M (imported weights)", cfg, params, args.gemma_train_batch,
                    args.gemma_train_seq, args.steps, peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="SFT batch (small decoder)")
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=32768,
                        help="vocabulary of the small decoder")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch_sizes", default="1,32")
    parser.add_argument("--prompt_len", type=int, default=32)
    parser.add_argument("--new_tokens", type=int, default=32)
    parser.add_argument("--score_batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip_small", action="store_true")
    parser.add_argument("--skip_gemma", action="store_true", help="no Gemma 3 270M at all")
    parser.add_argument("--skip_sampling", action="store_true",
                        help="no Gemma 3 270M sampling and scoring")
    parser.add_argument("--gemma_train", action="store_true",
                        help="also time an SFT step of Gemma 3 270M (no remat; ~8 GB a side)")
    parser.add_argument("--gemma_train_batch", type=int, default=1)
    parser.add_argument("--gemma_train_seq", type=int, default=256)
    args = parser.parse_args()
    args.batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    try:
        import tunix  # noqa: F401
        from importlib.metadata import version
        tunix_version = version("google-tunix")
    except ImportError:
        print("peers: Tunix is not installed (pip install -e '.[peers]'); nothing to compare")
        return

    from mathft_jax.models import Decoder

    peaks = Peaks()
    print(f"Tunix {tunix_version}, jax {jax.__version__}, devices "
          f"{jax.devices()[0].platform} x {jax.device_count()}; ratio = ours / Tunix")
    if not args.skip_small:
        cfg = small_gemma3_config(args.vocab)
        params = jax.jit(lambda k: Decoder(cfg).init(k, jnp.zeros((1, 8), jnp.int32)))(
            jax.random.key(0))["params"]
        import flax.linen as nn
        compare_sft("small Gemma-3-shaped decoder", cfg, nn.meta.unbox(params), args.batch,
                    args.seq, args.steps, peaks)
    if not args.skip_gemma:
        gemma_section(args, peaks)
    print(f"\npeak float32 matmul {peaks.best / 1e9:.1f} GFLOP/s (best of {len(peaks.values)}, "
          f"lowest {min(peaks.values) / 1e9:.1f})")


if __name__ == "__main__":
    sys.exit(main())
