"""Decodes a SeqIO task split from a checkpoint into a candidates file (JSON Lines).

    python -m mathft_jax.infer --gin_file=gin_configs/models/small.gin \
        --gin_file=gin_configs/runs/infer.gin --gin.CHECKPOINT="'runs/small_sft'" \
        --gin.MIXTURE_OR_TASK_NAME="'synthetic_eval'" --gin.OUTPUT_FILE="'runs/small_sft/candidates.jsonl'"

Candidates schema (version 1), one JSON object per line:

    {"version": 1, "problem_id": str, "sample_index": int, "decoding": "greedy" | "sample",
     "text": str, "logprob": float, "num_tokens": int, "finish_reason": "eos" | "length",
     "checkpoint": str, "sampling": {...}, "gold_answer": str | null, "level": str,
     "subject": str}

* For each problem, in dataset order: the greedy row (decoding "greedy", sample_index 0) when
  `greedy=True`, then `num_samples` sampled rows (decoding "sample", sample_index 0..N-1).
* `text`: the generated text, without the EOS token, cut before the first stop string.
* `logprob`: the summed log-prob of the generated tokens under the untempered model (EOS
  and the stop string's tokens included); `num_tokens`: how many tokens that sum covers.
* `finish_reason`: "eos" when the model ended the solution (EOS token or a stop string),
  "length" when `max_new_tokens` ran out.
* `sampling`: the rule's settings (`Greedy`/`Sampling.to_dict()`) plus "seed",
  "max_new_tokens", "stop_strings" and "bos_id" (the id put before every prompt, or null).
* `gold_answer` is the task's `answer` field (null when absent or empty).

Resuming. Rows are appended one chunk of problems at a time (`chunk_problems`), flushed and
fsync'ed; then `<output_file>.progress` (JSON, written atomically with a temporary file and
os.replace) records the byte size of the finished part, the number of problems done and the
run's settings:

    {"version": 1, "problems_done": 16, "rows": 1040, "bytes": 123456, "complete": false,
     "settings": {...}}

A rerun with the same settings truncates anything after `bytes` (a chunk cut by a kill) and
continues with the next problem, so a killed and resumed run writes exactly the file of an
uninterrupted one: each sample's key is derived from the problem's index in the split (see
`decoding.decode_loop`), and chunks are batched identically. A rerun with different settings
fails and names them (delete the files or pass `overwrite=True`).

Checkpoints. `checkpoint="random_init"` decodes from a randomly initialised model (key 0): for
smoke tests. `checkpoint="pretrained:<name>"` decodes from `models.load_pretrained(<name>)`
(e.g. "pretrained:gemma3_270m"); its config must match `model_config` up to dtypes and
max_seq_len. Anything else is a training run's directory or a params export.

BOS. Pretrained models such as Gemma need a BOS token before every prompt (Gemma 3 270M: 3.2
vs 4.9 nats/token on MATH solutions with and without it). `prepend_bos=True` puts `bos_id`
first, by default the pretrained model's BOS id, else the vocabulary's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from typing import Any, Iterator, Optional, Sequence

import flax.linen as nn
import gin
import jax
import jax.numpy as jnp
import numpy as np
import seqio
from tqdm import tqdm

from mathft_jax import partitioning, preflight
from mathft_jax.gin_utils import ConfigError
from mathft_jax.decoding.decode_loop import FINISH_EOS, FINISH_STOP, generate
from mathft_jax.decoding.sampling import Greedy, Sampling, SamplingRule
from mathft_jax.models import Decoder, ModelConfig

CANDIDATES_VERSION = 1
PROGRESS_VERSION = 1
RANDOM_INIT = "random_init"
PRETRAINED_PREFIX = "pretrained:"
# ModelConfig fields a pretrained model's config may differ in from the gin-bound one.
_FREE_CONFIG_FIELDS = ("param_dtype", "dtype", "remat", "max_seq_len")


class InferError(ConfigError):
    """A user-facing problem with the run's inputs or its existing output (the entry point
    prints it as one `error:` line and exits with status 2)."""


@dataclasses.dataclass
class Problem:
    index: int  # position in the split: seeds the problem's samples
    problem_id: str
    prompt: list[int]
    gold_answer: Optional[str]
    level: str
    subject: str


# ------------------------------------------------------------------------------- inputs


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _text(value.item())
    return str(value)


def _tasks(name: str) -> list[seqio.Task]:
    provider = seqio.get_mixture_or_task(name)
    if isinstance(provider, seqio.Mixture):
        return list(provider.tasks)
    return [provider]


def read_problems(name: str, split: str, max_problems: Optional[int] = None
                  ) -> tuple[Iterator[Problem], Optional[int], seqio.Vocabulary]:
    """The problems of a task (or a mixture's tasks, one after another) in dataset order.

    Reads the task's dataset before feature conversion, so the pass-through fields survive;
    the prompt is the tokenized `inputs` feature (a trailing EOS is removed if the feature
    adds one).

    Returns:
      (iterator of Problem, number of problems if known, the `inputs` vocabulary).
    """
    tasks = _tasks(name)
    vocab = tasks[0].output_features["inputs"].vocabulary
    total = 0
    for task in tasks:
        if "inputs" not in task.output_features:
            raise InferError(f"task {task.name} has no 'inputs' feature to decode from")
        n = task.num_input_examples(split)
        total = None if (n is None or total is None) else total + n
    if max_problems is not None:
        total = max_problems if total is None else min(total, max_problems)

    def iterate():
        index = 0
        for task in tasks:
            feature = task.output_features["inputs"]
            ds = task.get_dataset(sequence_length=None, split=split, shuffle=False)
            for ex in ds.as_numpy_iterator():
                if max_problems is not None and index >= max_problems:
                    return
                prompt = [int(t) for t in ex["inputs"]]
                if feature.add_eos and prompt and prompt[-1] == feature.vocabulary.eos_id:
                    prompt = prompt[:-1]
                answer = _text(ex["answer"]) if "answer" in ex else ""
                yield Problem(
                    index=index,
                    problem_id=(_text(ex["problem_id"]) if "problem_id" in ex
                                else f"{task.name}/{split}/{index}"),
                    prompt=prompt, gold_answer=answer or None,
                    level=_text(ex.get("level", "")), subject=_text(ex.get("subject", "")))
                index += 1

    return iterate(), total, vocab


# ------------------------------------------------------------------------------- model


def load_params(model_config: ModelConfig, checkpoint: str, mesh):
    """Parameters sharded on `mesh`: restored from `checkpoint`, random for "random_init",
    or `load_pretrained(name)`'s for "pretrained:<name>"."""
    return _load(model_config, checkpoint, mesh)[0]


def _load(model_config: ModelConfig, checkpoint: str, mesh) -> tuple[Any, Optional[int]]:
    """(sharded params, the pretrained model's BOS id or None)."""
    from mathft_jax.training import checkpoints, train_state  # heavy: orbax
    boxed = train_state.abstract_params(model_config)
    shardings = partitioning.logical_to_sharding(boxed, mesh)
    if checkpoint == RANDOM_INIT:
        def init(key):
            return nn.unbox(Decoder(model_config).init(key, jnp.zeros((1, 8), jnp.int32))["params"])
        return jax.jit(init, out_shardings=shardings)(jax.random.key(0)), None
    if checkpoint.startswith(PRETRAINED_PREFIX):
        return _load_pretrained(model_config, checkpoint[len(PRETRAINED_PREFIX):], boxed,
                                shardings)
    target = train_state.with_shardings(nn.unbox(boxed), shardings)
    try:
        return checkpoints.restore_params(checkpoint, target), None
    except checkpoints.CheckpointError as e:
        raise InferError(str(e)) from None


def _load_pretrained(model_config: ModelConfig, name: str, boxed, shardings
                     ) -> tuple[Any, Optional[int]]:
    from mathft_jax.models import pretrained
    if not name:
        raise InferError(f"infer.checkpoint {PRETRAINED_PREFIX!r} needs a model name, e.g. "
                         f"'{PRETRAINED_PREFIX}gemma3_270m'")
    try:
        loaded = pretrained.load_pretrained(name, param_dtype=model_config.param_dtype)
    except (ImportError, ValueError, FileNotFoundError) as e:
        raise InferError(f"infer.checkpoint {PRETRAINED_PREFIX}{name}: {e}") from None
    ours, theirs = dataclasses.asdict(model_config), dataclasses.asdict(loaded.config)
    differ = sorted(k for k in ours if k not in _FREE_CONFIG_FIELDS and ours[k] != theirs.get(k))
    if differ:
        raise InferError(
            f"infer.checkpoint {PRETRAINED_PREFIX}{name}: the gin model_config differs from the "
            "pretrained model's in " + "; ".join(
                f"{k}: {ours[k]!r} (gin) vs {theirs.get(k)!r}" for k in differ)
            + " (include its gin_configs/models/*.gin)")
    want = jax.tree_util.tree_map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)),
                                  nn.unbox(boxed))
    got = jax.tree_util.tree_map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)), loaded.params)
    if want != got:
        raise InferError(f"infer.checkpoint {PRETRAINED_PREFIX}{name}: its parameter tree "
                         "(shapes/dtypes) does not match model_config's")
    return jax.device_put(loaded.params, shardings), loaded.bos_id


# ------------------------------------------------------------------------------- output


def _atomic_write_json(path: str, obj: dict) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _start_or_resume(output_file: str, settings: dict, overwrite: bool) -> dict:
    """Returns the progress record to continue from, after truncating any unfinished tail."""
    progress_file = output_file + ".progress"
    fresh = {"version": PROGRESS_VERSION, "problems_done": 0, "rows": 0, "bytes": 0,
             "complete": False, "settings": settings}
    os.makedirs(os.path.dirname(os.path.abspath(output_file)), exist_ok=True)
    if overwrite or (not os.path.exists(progress_file) and not os.path.exists(output_file)):
        with open(output_file, "wb"):
            pass
        _atomic_write_json(progress_file, fresh)
        return fresh
    if not os.path.exists(progress_file):
        raise InferError(f"{output_file} exists but has no {progress_file}: it was not written "
                         "by this tool or the marker was removed; delete it or set "
                         "infer.overwrite = True")
    with open(progress_file) as f:
        try:
            progress = json.load(f)
        except json.JSONDecodeError as e:
            raise InferError(f"{progress_file}: not valid JSON ({e})") from None
    if progress.get("version") != PROGRESS_VERSION:
        raise InferError(f"{progress_file}: unsupported version {progress.get('version')!r}")
    old = progress.get("settings", {})
    changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
    if changed:
        raise InferError(
            f"{output_file} was written with different settings ("
            + "; ".join(f"{k}: {old.get(k)!r} -> {settings.get(k)!r}" for k in changed)
            + "); delete it or set infer.overwrite = True")
    size = os.path.getsize(output_file) if os.path.exists(output_file) else -1
    if size < progress["bytes"]:
        raise InferError(f"{output_file} has {size} bytes but {progress_file} records "
                         f"{progress['bytes']} finished bytes: the file was damaged")
    if size > progress["bytes"]:
        logging.warning("%s: dropping %d bytes of an unfinished chunk", output_file,
                        size - progress["bytes"])
        with open(output_file, "r+b") as f:
            f.truncate(progress["bytes"])
    return progress


def _append_chunk(output_file: str, rows: list[dict], progress: dict,
                  problems: int) -> dict:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    with open(output_file, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    progress = dict(progress, problems_done=progress["problems_done"] + problems,
                    rows=progress["rows"] + len(rows), bytes=progress["bytes"] + len(data))
    _atomic_write_json(output_file + ".progress", progress)
    return progress


# ------------------------------------------------------------------------------- decoding


def _cut(tokens: list[int], logprobs: np.ndarray, finish: int, vocab: seqio.Vocabulary,
         eos_id: Optional[int], stop_strings: Sequence[str]) -> tuple[str, float, int, str]:
    """(text, summed logprob, num_tokens, finish_reason) of one generated row."""
    reason = "eos" if finish in (FINISH_EOS, FINISH_STOP) else "length"
    body = tokens[:-1] if finish == FINISH_EOS and tokens and tokens[-1] == eos_id else tokens
    text = vocab.decode(body)
    n = len(tokens)
    cuts = [text.find(s) for s in stop_strings if s and s in text]
    if cuts:
        text = text[:min(cuts)]
        reason = "eos"
        # The fewest tokens whose text already contains a stop string (post-hoc stop).
        lo, hi = 1, len(body)
        while lo < hi:
            mid = (lo + hi) // 2
            if any(s and s in vocab.decode(body[:mid]) for s in stop_strings):
                hi = mid
            else:
                lo = mid + 1
        n = lo
    return text, float(np.sum(logprobs[:n], dtype=np.float64)), n, reason


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@gin.configurable
def infer(*, model_config: ModelConfig = gin.REQUIRED, checkpoint: str = gin.REQUIRED,
          mixture_or_task_name: str = gin.REQUIRED, output_file: str = gin.REQUIRED,
          split: str = "test", greedy: bool = True, num_samples: int = 0,
          sampling: SamplingRule = Sampling(temperature=0.9), max_new_tokens: int = 512,
          batch_size: int = 8, chunk_problems: Optional[int] = None,
          max_problems: Optional[int] = None, seed: int = 0,
          stop_strings: Sequence[str] = (), max_prompt_length: Optional[int] = None,
          overwrite: bool = False, max_chunks: Optional[int] = None,
          show_progress: bool = True, prepend_bos: bool = False,
          bos_id: Optional[int] = None) -> dict[str, Any]:
    """Writes greedy and/or sampled candidates for every problem of a task split.

    Args:
      model_config: the decoder's ModelConfig.
      checkpoint: a training run's MODEL_DIR, a step folder, a params export,
        "pretrained:<name>" (`models.load_pretrained(name)`, e.g. "pretrained:gemma3_270m"),
        or "random_init" (smoke tests).
      mixture_or_task_name: a SeqIO task (or a mixture: its tasks in order) with an `inputs`
        feature and pass-through `problem_id`, `answer`, `level`, `subject`.
      output_file: the candidates JSONL (see the module docstring for the schema).
      split: the task split to decode.
      greedy: write one greedy row per problem.
      num_samples: N sampled rows per problem (0 for none).
      sampling: the rule for sampled rows (`Sampling(...)`).
      max_new_tokens: the longest solution, in tokens.
      batch_size: prompts per compiled decode call (a call decodes batch_size x N rows when
        sampling).
      chunk_problems: problems per appended chunk (default: batch_size); the unit of resuming.
      max_problems: decode only the first problems of the split.
      seed: sampling seed (sample n of problem i uses fold_in(fold_in(key(seed), i), n)).
      stop_strings: texts that end a solution (e.g. "\\n\\nProblem:" after a few-shot prompt):
        decoding stops at their token sequences, and the text is cut before them.
      max_prompt_length: keep only the last tokens of longer prompts (counted and logged).
      overwrite: start over even if output_file exists.
      max_chunks: stop after this many chunks in this call (testing / time-sliced jobs).
      show_progress: a tqdm bar with problems, tokens/s and ETA.
      prepend_bos: put a BOS id before every prompt (pretrained Gemma needs it).
      bos_id: the BOS id for `prepend_bos`; default: the pretrained model's, else the
        vocabulary's (an error when neither has one).

    Returns:
      A summary: problems and rows written in this call and in total, generated tokens,
      seconds, tokens/s, whether the file is complete.
    """
    preflight.check_infer(
        greedy=greedy, num_samples=num_samples, max_new_tokens=max_new_tokens,
        batch_size=batch_size, chunk_problems=chunk_problems, max_problems=max_problems,
        max_chunks=max_chunks, max_prompt_length=max_prompt_length, prepend_bos=prepend_bos,
        bos_id=bos_id, sampling=sampling, output_file=output_file, checkpoint=checkpoint)
    chunk_problems = chunk_problems or batch_size
    settings = {
        "checkpoint": checkpoint, "mixture_or_task_name": mixture_or_task_name, "split": split,
        "greedy": greedy, "num_samples": num_samples,
        "sampling": sampling.to_dict() if num_samples else None,
        "max_new_tokens": max_new_tokens, "batch_size": batch_size,
        "chunk_problems": chunk_problems, "max_problems": max_problems, "seed": seed,
        "stop_strings": list(stop_strings), "max_prompt_length": max_prompt_length,
        "model_config": dataclasses.asdict(model_config)}

    problems, total, vocab = read_problems(mixture_or_task_name, split, max_problems)
    if vocab.vocab_size > model_config.vocab_size:
        raise InferError(f"the task's vocabulary has {vocab.vocab_size} ids but the model only "
                         f"{model_config.vocab_size} (ModelConfig.vocab_size)")
    mesh = partitioning.make_mesh()
    params, pretrained_bos = _load(model_config, checkpoint, mesh)
    if prepend_bos and bos_id is None:
        bos_id = pretrained_bos if pretrained_bos is not None else vocab.bos_id
        if bos_id is None or bos_id < 0:
            raise InferError("infer.prepend_bos = True but neither the checkpoint nor the "
                             "vocabulary has a BOS id: bind infer.bos_id")
    if not prepend_bos:
        bos_id = None
    # Recorded only when set, so files written before this option existed still resume.
    if bos_id is not None:
        settings["bos_id"] = bos_id
    progress = _start_or_resume(output_file, settings, overwrite)
    eos_id = vocab.eos_id
    stop_sequences = [vocab.encode(s) for s in stop_strings if s]
    common = {"checkpoint": checkpoint}
    greedy_settings = {**Greedy().to_dict(), "seed": seed, "max_new_tokens": max_new_tokens,
                       "stop_strings": list(stop_strings), "bos_id": bos_id}
    sample_settings = {**sampling.to_dict(), "seed": seed, "max_new_tokens": max_new_tokens,
                       "stop_strings": list(stop_strings), "bos_id": bos_id}
    rng = jax.random.PRNGKey(seed)
    decode_kw = dict(max_new_tokens=max_new_tokens, eos_id=eos_id, pad_id=vocab.pad_id,
                     stop_sequences=stop_sequences, mesh=mesh,
                     logical_axis_rules=partitioning.DEFAULT_RULES)

    bar = tqdm(total=total, initial=progress["problems_done"], unit="problem",
               disable=not show_progress, dynamic_ncols=True)
    start = time.time()
    new_problems = new_rows = new_tokens = truncated = chunks = 0
    skip = progress["problems_done"]
    chunk: list[Problem] = []

    def run_chunk(chunk: list[Problem]) -> None:
        nonlocal progress, new_problems, new_rows, new_tokens, truncated
        rows: list[dict] = []
        per_problem: dict[int, list[dict]] = {p.index: [] for p in chunk}
        for batch in _batches(chunk, batch_size):
            prompts = [p.prompt for p in batch]
            if max_prompt_length:
                limit = max_prompt_length - (bos_id is not None)
                truncated += sum(len(p) > limit for p in prompts)
                prompts = [p[max(len(p) - limit, 0):] for p in prompts]
            if bos_id is not None:
                prompts = [[bos_id] + p for p in prompts]
            if any(len(p) == 0 for p in prompts):
                bad = [p.problem_id for p in batch if not p.prompt]
                raise InferError(f"empty prompts for problems {bad}")
            # Pad the last batch with copies so every call has the same shape.
            pad = batch_size - len(prompts)
            prompts = prompts + [prompts[-1]] * pad
            ids = [p.index for p in batch] + [batch[-1].index] * pad
            passes = []
            if greedy:
                passes.append(("greedy", Greedy(), 1, greedy_settings))
            if num_samples:
                passes.append(("sample", sampling, num_samples, sample_settings))
            for decoding, rule, n, rule_settings in passes:
                out = generate(params, model_config, prompts, num_decodes=n, sampling=rule,
                               rng=rng, row_ids=ids, **decode_kw)
                for b, problem in enumerate(batch):
                    for s in range(n):
                        length = int(out.lengths[b, s])
                        text, logprob, num_tokens, reason = _cut(
                            out.tokens[b, s, :length].tolist(), out.logprobs[b, s],
                            int(out.finish_reasons[b, s]), vocab, eos_id, stop_strings)
                        new_tokens += length
                        per_problem[problem.index].append({
                            "version": CANDIDATES_VERSION, "problem_id": problem.problem_id,
                            "sample_index": s, "decoding": decoding, "text": text,
                            "logprob": logprob, "num_tokens": num_tokens,
                            "finish_reason": reason, **common, "sampling": rule_settings,
                            "gold_answer": problem.gold_answer, "level": problem.level,
                            "subject": problem.subject})
        for p in chunk:
            rows.extend(per_problem[p.index])
        progress = _append_chunk(output_file, rows, progress, len(chunk))
        new_problems += len(chunk)
        new_rows += len(rows)
        bar.update(len(chunk))
        elapsed = max(time.time() - start, 1e-9)
        bar.set_postfix(tok_s=f"{new_tokens / elapsed:.0f}", rows=progress["rows"])

    stopped_early = False
    for problem in problems:
        if problem.index < skip:
            continue
        chunk.append(problem)
        if len(chunk) == chunk_problems:
            run_chunk(chunk)
            chunk, chunks = [], chunks + 1
            if max_chunks is not None and chunks >= max_chunks:
                stopped_early = True
                break
    if chunk and not stopped_early:
        run_chunk(chunk)
    if not stopped_early:
        progress = dict(progress, complete=True)
        _atomic_write_json(output_file + ".progress", progress)
    bar.close()
    elapsed = time.time() - start
    if truncated:
        logging.warning("%d prompts were longer than max_prompt_length=%d and were cut from "
                        "the front", truncated, max_prompt_length)
    summary = {"problems_written": new_problems, "rows_written": new_rows,
               "problems_total": progress["problems_done"], "rows_total": progress["rows"],
               "generated_tokens": new_tokens, "seconds": round(elapsed, 3),
               "tokens_per_second": round(new_tokens / elapsed, 1) if elapsed > 0 else None,
               "prompts_truncated": truncated, "complete": progress["complete"],
               "output_file": output_file}
    logging.info("infer summary: %s", summary)
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    # infer.gin binds the short name `infer` and does not import this module, so under
    # `python -m` only this `__main__.infer` is registered.
    from mathft_jax import gin_utils
    gin_utils.run_main(infer)
