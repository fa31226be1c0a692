"""Decodes a SeqIO task split from a checkpoint into a candidates file (JSON Lines).

    python -m mathft_jax.infer --gin_file=gin_configs/models/small.gin \
        --gin_file=gin_configs/runs/infer.gin --gin.CHECKPOINT="'runs/small_sft'" \
        --gin.MIXTURE_OR_TASK_NAME="'synthetic_eval'" --gin.OUTPUT_FILE="'runs/small_sft/candidates.jsonl'"

The candidates schema is `mathft_jax.formats` (candidates, version 1):

* For each problem, in dataset order: the greedy row (decoding "greedy", sample_index 0) when
  `greedy=True`, then `num_samples` sampled rows (decoding "sample", sample_index 0..N-1).
* `text`: the generated text, without the EOS token, cut before the first stop string
  (`decoding.stop_strings`).
* `logprob`: the summed log-prob of the generated tokens under the untempered model (EOS
  and the stop string's tokens included); `num_tokens`: how many tokens that sum covers.
* `finish_reason`: "eos" when the model ended the solution (EOS token or a stop string),
  "length" when `max_new_tokens` ran out.
* `sampling`: the rule's settings (`Greedy`/`Sampling.to_dict()`) plus "seed",
  "max_new_tokens", "stop_strings" and "bos_id" (the id put before every prompt, or null).
* `gold_answer` is the task's `answer` field (null when absent or empty); `problem` its bare
  problem statement.

Batching: continuous (`decoding.continuous`). `batch_size` problems' rows (greedy + N
samples each) decode together, and as rows finish, the next problems' rows take their place,
across chunk boundaries; every prompt is padded to one bucket for the whole run (its longest
prompt's). A row's tokens depend only on (seed, problem index, sample index): not on its
batch, its slot or `batch_size`.

Resuming: the output is written by `chunked_output.ChunkedOutput` (a
`resumable_jsonl.ResumableJsonl`) with one chunk of problems (`chunk_problems`, in dataset
order) per append, so a killed and resumed run writes the tokens of an uninterrupted one:
each sample's key is derived from the problem's index in the split. (Log-probs can differ in
the last float32 bits when XLA's matmuls round differently for another row layout; on the
tiny test models they are identical.) A rerun with different settings fails and names them
(delete the files or pass `overwrite=True`). The run holds `OUTPUT_FILE.lock`
(`training.run_lock`): a second run on the same output is refused.

Multi-host (`distributed`, `chunked_output`): every host reads the same problems and walks
the same chunks; host h runs the continuous decoder over the problems with index mod
process_count == h, on its own devices (each host holds a full copy of the params: a model
must fit one host's devices), and each chunk's rows are gathered to every host; the primary
alone writes the file and its progress. Because a row's tokens depend only on (seed, problem
index, sample index) and the run's prompt bucket, not on its slot or neighbours, the file is
the one a single host writes (byte for byte, on the same kind of device;
`tests/test_distributed_infer.py`).

Checkpoints: see `params_source` ("random_init", "pretrained:<name>", a run directory or a
params export).

BOS. Pretrained models such as Gemma need a BOS token before every prompt (Gemma 3 270M: 3.2
vs 4.9 nats/token on MATH solutions with and without it). `prepend_bos=True` puts `bos_id`
first, by default the pretrained model's BOS id, else the vocabulary's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any, Iterator, Optional, Sequence

import gin
import jax
import seqio

from mathft_jax import distributed, formats, partitioning, preflight
from mathft_jax.chunked_output import ChunkedOutput, Written
from mathft_jax.data.task_problems import Problem, read_problems
from mathft_jax.decoding.continuous import ContinuousDecoder, Finished, Request
from mathft_jax.decoding.decode_loop import bucket_length
from mathft_jax.decoding.sampling import Greedy, Sampling, SamplingRule
from mathft_jax.decoding.stop_strings import cut_at_stop
from mathft_jax.errors import ConfigError
from mathft_jax.models import ModelConfig
from mathft_jax.params_source import load_params, resolve_bos
from mathft_jax.resumable_jsonl import ResumableJsonl
from mathft_jax.training import run_lock


class InferError(ConfigError):
    """A user-facing problem with the run's inputs or its existing output (the entry point
    prints it as one `error:` line and exits with status 2)."""


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
      batch_size: problems decoded at a time: the decode loop runs batch_size x (greedy + N)
        rows, refilled as they finish (continuous batching).
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
    distributed.maybe_initialize()
    preflight.check_infer(
        greedy=greedy, num_samples=num_samples, max_new_tokens=max_new_tokens,
        batch_size=batch_size, chunk_problems=chunk_problems, max_problems=max_problems,
        max_chunks=max_chunks, max_prompt_length=max_prompt_length, prepend_bos=prepend_bos,
        bos_id=bos_id, sampling=sampling, output_file=output_file, checkpoint=checkpoint)
    run_lock.hold_output(output_file, "infer.output_file")
    chunk_problems = chunk_problems or batch_size
    settings = {
        "checkpoint": checkpoint, "mixture_or_task_name": mixture_or_task_name, "split": split,
        "greedy": greedy, "num_samples": num_samples,
        "sampling": sampling.to_dict() if num_samples else None,
        "max_new_tokens": max_new_tokens, "batch_size": batch_size,
        "chunk_problems": chunk_problems, "max_problems": max_problems, "seed": seed,
        "stop_strings": list(stop_strings), "max_prompt_length": max_prompt_length,
        "model_config": dataclasses.asdict(model_config)}

    problems, _, vocab = read_problems(mixture_or_task_name, split, max_problems)
    if vocab.vocab_size > model_config.vocab_size:
        raise InferError(f"the task's vocabulary has {vocab.vocab_size} ids but the model only "
                         f"{model_config.vocab_size} (ModelConfig.vocab_size)")
    mesh = partitioning.make_mesh(devices=jax.local_devices())  # one per host, see above
    loaded = load_params(model_config, checkpoint, mesh)
    bos_id = resolve_bos(prepend_bos, bos_id, loaded, vocab, "infer")
    if bos_id is not None:  # recorded only when set, so older files still resume
        settings["bos_id"] = bos_id
    problems = list(problems)
    output = ChunkedOutput.open(output_file, settings, overwrite=overwrite,
                                units=len(problems), chunk_size=chunk_problems)
    passes = _passes(greedy, num_samples, sampling, seed, max_new_tokens, stop_strings, bos_id)
    prompts = _Prompts(bos_id, max_prompt_length)
    problems = [(p, prompts.of(p)) for p in problems]
    # One bucket for the whole run (skipped problems included): a row's numbers depend on it.
    bucket = bucket_length(max((len(prompt) for _, prompt in problems), default=1))
    group = sum(n for _, _, n, _ in passes)
    decoder = _StreamDecoder(
        vocab=vocab, checkpoint=checkpoint, passes=passes, stop_strings=tuple(stop_strings),
        prompts=prompts, engine=ContinuousDecoder(
            params=loaded.params, config=model_config, rows=batch_size * group,
            group_rows=group, prompt_bucket=bucket, max_new_tokens=max_new_tokens,
            sampling=sampling if num_samples else Greedy(), eos_id=vocab.eos_id,
            rng=jax.random.PRNGKey(seed), pad_id=vocab.pad_id,
            stop_sequences=[vocab.encode(s) for s in stop_strings if s], mesh=mesh,
            logical_axis_rules=partitioning.DEFAULT_RULES))

    start = time.time()
    written = output.write(
        decoder.rows([problems[i] for i in output.mine()]), max_chunks=max_chunks,
        show_progress=show_progress,
        postfix=lambda: dict(tok_s=f"{decoder.tokens / max(time.time() - start, 1e-9):.0f}",
                             rows=output.out.progress["rows"]))
    if output.out is None:  # another host writes the file
        return {"problems_written": written.problems, "rows_written": written.rows,
                "generated_tokens": decoder.tokens, "complete": written.finished,
                "output_file": output_file, "written_here": False}
    return _summary(output.out, written, decoder, time.time() - start, max_prompt_length)


# Not decorators: mutmut skips decorated functions (tests/mutation_report.md).
infer = run_lock.releases_locks(gin.configurable(infer))


def _passes(greedy: bool, num_samples: int, sampling: SamplingRule, seed: int,
            max_new_tokens: int, stop_strings: Sequence[str], bos_id: Optional[int]
            ) -> list[tuple[str, SamplingRule, int, dict]]:
    """(decoding name, rule, rows per problem, the `sampling` field written) per pass."""
    common = {"seed": seed, "max_new_tokens": max_new_tokens,
              "stop_strings": list(stop_strings), "bos_id": bos_id}
    passes = []
    if greedy:
        passes.append(("greedy", Greedy(), 1, {**Greedy().to_dict(), **common}))
    if num_samples:
        passes.append(("sample", sampling, num_samples, {**sampling.to_dict(), **common}))
    return passes


@dataclasses.dataclass
class _Prompts:
    """A problem's prompt as decoded: cut to max_prompt_length, BOS added; counts cut ones."""

    bos_id: Optional[int]
    max_prompt_length: Optional[int]
    truncated: int = 0

    def of(self, problem: Problem) -> tuple[int, ...]:
        prompt = problem.prompt
        if self.max_prompt_length:
            limit = self.max_prompt_length - (self.bos_id is not None)
            self.truncated += len(prompt) > limit
            prompt = prompt[max(len(prompt) - limit, 0):]
        if self.bos_id is not None:
            prompt = [self.bos_id] + list(prompt)
        if len(prompt) == 0:
            raise InferError(f"empty prompt for problem {problem.problem_id}")
        return tuple(int(t) for t in prompt)


@dataclasses.dataclass
class _StreamDecoder:
    """Decodes problems into candidate rows with continuous batching, handing each problem's
    rows back as soon as they are all done; counts generated tokens."""

    vocab: seqio.Vocabulary
    checkpoint: str
    passes: list
    stop_strings: tuple[str, ...]
    prompts: _Prompts
    engine: ContinuousDecoder
    tokens: int = 0

    @property
    def truncated(self) -> int:
        return self.prompts.truncated

    def rows(self, problems: list[tuple[Problem, tuple[int, ...]]]
             ) -> Iterator[tuple[int, list[dict]]]:
        """(problem index, its rows in file order) for each problem, as soon as it is done."""
        requests = (Request(prompt, p.index, s, rule.is_greedy, (p.index, k, s))
                    for p, prompt in problems
                    for k, (_, rule, n, _) in enumerate(self.passes) for s in range(n))
        rows_per_problem = sum(n for _, _, n, _ in self.passes)
        by_index = {p.index: p for p, _ in problems}
        done: dict[int, dict] = {}
        for finished in self.engine.run(requests):
            index, k, s = finished.request.tag
            rows = done.setdefault(index, {})
            rows[k, s] = self._row(by_index[index], finished, k)
            if len(rows) == rows_per_problem:
                yield index, [row for _, row in sorted(done.pop(index).items())]

    def _row(self, problem: Problem, finished: Finished, k: int) -> dict:
        decoding, _, _, rule_settings = self.passes[k]
        length = len(finished.tokens)
        text, logprob, num_tokens, reason = cut_at_stop(
            finished.tokens.tolist(), finished.logprobs, finished.finish_reason, self.vocab,
            self.vocab.eos_id, self.stop_strings)
        s = finished.request.sample_index
        self.tokens += length
        return formats.candidate_row(
            problem_id=problem.problem_id, sample_index=s, decoding=decoding, text=text,
            logprob=logprob, num_tokens=num_tokens, finish_reason=reason,
            checkpoint=self.checkpoint, sampling=rule_settings,
            gold_answer=problem.gold_answer, level=problem.level, subject=problem.subject,
            problem=problem.problem)


def _summary(out: ResumableJsonl, written: Written, decoder: "_StreamDecoder", elapsed: float,
             max_prompt_length: Optional[int]) -> dict[str, Any]:
    if decoder.truncated:
        logging.warning("%d prompts were longer than max_prompt_length=%d and were cut from "
                        "the front", decoder.truncated, max_prompt_length)
    summary = {"problems_written": written.problems, "rows_written": written.rows,
               "problems_total": out.problems_done, "rows_total": out.progress["rows"],
               "generated_tokens": decoder.tokens, "seconds": round(elapsed, 3),
               "tokens_per_second": (round(decoder.tokens / elapsed, 1) if elapsed > 0
                                     else None),
               "prompts_truncated": decoder.truncated, "complete": out.complete,
               "output_file": out.path}
    logging.info("infer summary: %s", summary)
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    # infer.gin binds the short name `infer` and does not import this module, so under
    # `python -m` only this `__main__.infer` is registered.
    from mathft_jax import gin_utils
    gin_utils.run_main(infer)
