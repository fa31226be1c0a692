"""Scores every sampled candidate of a candidates file with a trained evaluator.

    python -m mathft_jax.score --gin_file=gin_configs/models/small.gin \
        --gin_file=gin_configs/runs/score.gin --gin.CHECKPOINT="'runs/evaluator'" \
        --gin.CANDIDATES_FILE="'runs/x/candidates.jsonl'" --gin.OUTPUT_FILE="'runs/x/scores.jsonl'" \
        --gin.LIKE_TASK="'synthetic_sft'"

Writes the scores JSONL of `mathft_jax.formats` that `python -m mathft_jax.evaluate` reads
(`SCORES_FILE`): S = p(positive) / (p(positive) + p(negative)) of the evaluator prompt
(`prompts.EVALUATOR_TEMPLATE`) for each sampled row, in the candidates file's problem order.
Greedy rows are not scored (the re-ranking metrics use the samples).

Batched and compiled (`decoding.label_word_probs`: one pass per candidate, every prompt
left-padded to the run's longest), sharded over the batch axes of each host's devices,
multi-host like infer (`chunked_output`: host h scores the problems i with i mod hosts == h,
every chunk's scores are gathered, the primary alone writes: the file is byte for byte a
single host's; `tests/test_distributed_infer.py`), resumable like infer (`resumable_jsonl`:
kill and rerun gives the same file; the run holds `OUTPUT_FILE.lock`, `training.run_lock`, so
a second run on the same output is refused), with a tqdm bar. The settings (checkpoint,
prompt, label words) are recorded; a rerun with another evaluator into the same file is
refused, and every row carries the `evaluator` fingerprint so that `formats.read_scores`
refuses files that mix two.

From Python, gin-free: `run_score(ScoreSettings(...))`, or the keyword form `score(...)`; only the
command line (`main`) reads gin, where `ScoreSettings`'s fields are bound as `score.*`.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator, Optional, Sequence

if __name__ == "__main__":
    # Run the copy imported under its package name, so that gin registers one `score`.
    from mathft_jax.score import main as _main
    _main()
    sys.exit(0)

import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import gin  # noqa: E402
import jax  # noqa: E402

from mathft_jax import distributed, file_paths, formats, partitioning  # noqa: E402
from mathft_jax.chunked_output import ChunkedOutput  # noqa: E402
from mathft_jax.data import prompts  # noqa: E402
from mathft_jax.data.synthetic import checked_operations  # noqa: E402
from mathft_jax.decoding.scoring import (label_word_probs, label_word_probs_at,  # noqa: E402
                                         score_continuations)
from mathft_jax.evaluator.inputs import EvaluatorInput, build_input  # noqa: E402
from mathft_jax.evaluator.verifier import VerifierInput, build_verifier_input  # noqa: E402
from mathft_jax.evaluator.label_words import LabelWords, resolve_label_words  # noqa: E402
from mathft_jax.errors import ConfigError  # noqa: E402
from mathft_jax.models import ModelConfig  # noqa: E402
from mathft_jax.params_source import load_params, resolve_bos  # noqa: E402
from mathft_jax.training import run_lock  # noqa: E402


READS = ("final", "steps", "likelihood")


class ScoreError(ConfigError):
    """A user-facing problem with the inputs or settings (one `error:` line, exit 2)."""


@dataclasses.dataclass(frozen=True)
class ScoreSettings:
    """Everything one `score` run reads. On the command line, gin binds these fields under
    the name `score` (`gin_configs/runs/score.gin`: `score.batch_size = %BATCH_SIZE`).

    Attributes:
      model_config: the evaluator's ModelConfig.
      checkpoint: the evaluator run's MODEL_DIR (or anything `params_source` loads).
      candidates_file: candidates JSONL with `problem` statements (written by infer).
      output_file: the scores JSONL.
      like_task: a task whose vocabulary the evaluator uses (e.g. 'synthetic_sft').
      template, positive, negative: the evaluator prompt and label words (as in training).
      batch_size: candidates per compiled call.
      chunk_problems: problems per appended chunk (the unit of resuming).
      max_prompt_length: the most tokens of an evaluator input, BOS and label prefix
        included; longer prompts lose their front (default: the model's max_seq_len).
        Evaluator training rows are built the same way (`evaluator.inputs.build_input`).
      overwrite: start over even if output_file exists.
      max_chunks: stop after this many chunks in this call (tests, time-sliced jobs).
      show_progress: a tqdm bar.
      prepend_bos: put a BOS id before every prompt (pretrained Gemma needs it).
      bos_id: the BOS id for `prepend_bos`; default: the pretrained model's, else the
        vocabulary's (an error when neither has one).
      read: "final" reads the label after the whole prompt (the paper's evaluator); "steps"
        (a process-supervised evaluator, `evaluator.steps`) reads it after every checked step
        (`synthetic.checked_operations`) and at the end, and scores the minimum; the row's
        log-probs are then log S and log(1 - S) of that minimum; "likelihood" (the likelihood
        verifier, `evaluator.verifier`) scores S = p(solution | the generator's prompt) under
        the checkpoint (`template` defaults to `prompts.GENERATOR_TEMPLATE` there).

    """

    model_config: ModelConfig
    checkpoint: str
    candidates_file: str
    output_file: str
    like_task: str
    template: str = prompts.EVALUATOR_TEMPLATE
    positive: str = prompts.EVALUATOR_LABELS[0]
    negative: str = prompts.EVALUATOR_LABELS[1]
    batch_size: int = 16
    chunk_problems: int = 8
    max_prompt_length: Optional[int] = None
    overwrite: bool = False
    max_chunks: Optional[int] = None
    show_progress: bool = True
    prepend_bos: bool = False
    bos_id: Optional[int] = None
    read: str = "final"


def score(**settings: Any) -> dict:
    """`run_score(ScoreSettings(**settings))`: the keyword form."""
    return run_score(ScoreSettings(**settings))


@run_lock.releases_locks
def run_score(settings: ScoreSettings) -> dict:
    """Writes evaluator scores for the sampled rows of `settings.candidates_file`.

    Returns:
      A summary (rows scored in this call and in total, seconds, candidates/s).
    """
    s = settings
    distributed.maybe_initialize()
    _check(s)
    run_lock.hold_output(s.output_file, "score.output_file")
    template = s.template
    if s.read == "likelihood" and template == prompts.EVALUATOR_TEMPLATE:
        template = prompts.GENERATOR_TEMPLATE
    rows, _ = formats.read_candidates(s.candidates_file)
    groups = _problems(rows, s.candidates_file)
    from mathft_jax.data.task_lookup import get_task  # imports the `tasks` registrations
    vocab = get_task(s.like_task).output_features["targets"].vocabulary
    words = resolve_label_words(vocab, s.positive, s.negative)
    max_length = s.max_prompt_length or s.model_config.max_seq_len
    mesh = partitioning.make_mesh(devices=jax.local_devices())  # one per host, as in infer
    loaded = load_params(s.model_config, s.checkpoint, mesh)
    bos_id = resolve_bos(s.prepend_bos, s.bos_id, loaded, vocab, "score")
    recorded = _recorded(s, template, max_length - len(words.prefix), bos_id)
    fingerprint = f"{s.checkpoint}#{_digest(recorded)}"
    output = ChunkedOutput.open(s.output_file, recorded, overwrite=s.overwrite,
                                units=len(groups), chunk_size=s.chunk_problems)
    inputs = [[_input(vocab, template, r, words, max_length, bos_id, s.read) for r in group]
              for group in groups]
    # One padded length for the whole run: a score must not depend on which candidates share
    # its batch (resuming, other hosts), and one shape compiles once.
    length = max(len(x.tokens) for group in inputs for x in group)
    reader = (_final_reader(words, length) if s.read == "final" else
              _likelihood_reader(length) if s.read == "likelihood" else
              _steps_reader(words, length, inputs))

    def results() -> Iterator[tuple[int, list[dict]]]:
        """This host's problems' score rows, one chunk's share (its batches) at a time."""
        for share in output.shares():
            result = iter(_score_batches(loaded.params, s.model_config,
                                         [x for i in share for x in inputs[i]], reader,
                                         s.batch_size, vocab, mesh))
            for i in share:
                scores = [next(result) for _ in groups[i]]
                yield i, [formats.score_row(problem_id=r["problem_id"],
                                            sample_index=r["sample_index"], score=v,
                                            positive_logprob=lp, negative_logprob=ln,
                                            evaluator=fingerprint)
                          for r, (v, lp, ln) in zip(groups[i], scores)]

    start = time.time()
    written = output.write(results(), max_chunks=s.max_chunks, show_progress=s.show_progress)
    return _summary(output, written, time.time() - start, s.output_file, fingerprint)


def _check(s: ScoreSettings) -> None:
    """The settings' own checks, before anything is read."""
    if s.read not in READS:
        raise ScoreError(f"score.read must be one of {READS}, got {s.read!r}")
    for value, name in ((s.batch_size, "batch_size"), (s.chunk_problems, "chunk_problems")):
        if value < 1:
            raise ScoreError(f"score.{name} must be >= 1, got {value}")
    if not file_paths.as_path(s.candidates_file).exists():
        raise ScoreError(f"candidates file {s.candidates_file} does not exist")


def _recorded(s: ScoreSettings, template: str, max_prompt_length: int,
              bos_id: Optional[int]) -> dict[str, Any]:
    """The settings the scores file records (a resumed run must match them; the evaluator
    fingerprint is their digest)."""
    recorded = {"checkpoint": s.checkpoint,
                "candidates_file": os.fspath(file_paths.as_path(s.candidates_file)),
                "like_task": s.like_task, "template": template, "positive": s.positive,
                "negative": s.negative, "max_prompt_length": max_prompt_length,
                "model_config": dataclasses.asdict(s.model_config)}
    if s.read != "final":  # recorded only when set, so older files still resume
        recorded["read"] = s.read
    if bos_id is not None:  # likewise
        recorded["bos_id"] = bos_id
    return recorded


def _summary(output: ChunkedOutput, written: Any, elapsed: float, output_file: str,
             fingerprint: str) -> dict[str, Any]:
    summary = {"rows_scored": written.rows, "seconds": round(elapsed, 3),
               "candidates_per_second": (round(written.rows / elapsed, 1) if elapsed > 0
                                         else None),
               "output_file": output_file, "evaluator": fingerprint}
    if output.out is None:  # another host writes the file
        return {**summary, "written_here": False}
    summary.update(rows_total=output.out.progress["rows"],
                   problems_total=output.out.problems_done, complete=output.out.complete)
    print(json.dumps(summary), flush=True)
    return summary


def _problems(rows: list[dict], path: str) -> list[list[dict]]:
    """Sampled rows grouped by problem, in first-appearance order."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r["decoding"] == "sample":
            groups.setdefault(r["problem_id"], []).append(r)
    missing = sorted(pid for pid, g in groups.items() if not g[0].get("problem"))
    if missing:
        raise ScoreError(f"{path}: {len(missing)} problems have no 'problem' statement (e.g. "
                         f"{missing[0]}); re-run infer with this version to write it")
    if not groups:
        raise ScoreError(f"{path}: no sampled rows to score")
    return list(groups.values())


def _input(vocab, template: str, row: dict, words: LabelWords, max_length: int,
           bos_id: Optional[int], read: str) -> EvaluatorInput | VerifierInput:
    """The candidate's evaluator input, built as in training (`evaluator.inputs`,
    `evaluator.verifier`)."""
    if read == "likelihood":
        return build_verifier_input(vocab, template, row["problem"], row["text"],
                                    max_length=max_length, bos_id=bos_id)
    ends = ([end for end, _ in checked_operations(row["text"].strip())] if read == "steps"
            else ())
    return build_input(vocab, template, row["problem"], row["text"], prefix=words.prefix,
                       max_length=max_length, bos_id=bos_id, step_ends=ends)


def _final_reader(words: LabelWords, length: int):
    """Scores a batch by the label read after the whole prompt (left-padded, one head call)."""
    positive, negative = list(words.prefix) + [words.positive], list(words.prefix) + [
        words.negative]

    def read(params, model_config, batch: list[EvaluatorInput], pad_id: int, mesh) -> list:
        prompts_ = [list(x.tokens[:len(x.tokens) - len(words.prefix)]) for x in batch]
        s = label_word_probs(params, model_config, prompts_, positive, negative, pad_id=pad_id,
                             padded_length=length, mesh=mesh,
                             logical_axis_rules=partitioning.DEFAULT_RULES)
        return list(zip(s.score, s.positive_logprob, s.negative_logprob))
    return read


def _steps_reader(words: LabelWords, length: int, inputs: list[list[EvaluatorInput]]):
    """Scores a batch by the lowest label read over its step slots and its end."""
    max_slots = max(len(x.step_slots) + 1 for group in inputs for x in group)

    def read(params, model_config, batch: list[EvaluatorInput], pad_id: int, mesh) -> list:
        probs = label_word_probs_at(
            params, model_config, [x.tokens for x in batch],
            [list(x.step_slots) + [x.final_slot] for x in batch], words.positive,
            words.negative, pad_id=pad_id, padded_length=length, max_slots=max_slots,
            mesh=mesh, logical_axis_rules=partitioning.DEFAULT_RULES)
        lowest = [float(p.min()) for p in probs]
        return [(s, math.log(max(s, 1e-45)), math.log(max(1.0 - s, 1e-45))) for s in lowest]
    return read


def _likelihood_reader(length: int):
    """Scores a batch by the model's probability of each solution after its prompt."""
    def read(params, model_config, batch: list[VerifierInput], pad_id: int, mesh) -> list:
        out = score_continuations(
            params, model_config, [x.tokens[:x.solution_start] for x in batch],
            [x.tokens[x.solution_start:] for x in batch], pad_id=pad_id, padded_length=length,
            mesh=mesh, logical_axis_rules=partitioning.DEFAULT_RULES)
        totals = [min(float(t), 0.0) for t in out.total]
        return [(math.exp(t), t, math.log(max(-math.expm1(t), 1e-45))) for t in totals]
    return read


def _score_batches(params, model_config: ModelConfig, batch_inputs: list[EvaluatorInput],
                   reader, batch_size: int, vocab, mesh) -> list[tuple]:
    """(score, positive log-prob, negative log-prob) per input, batch_size at a time; the
    last batch is padded with copies so that every call has the same batch size."""
    out = []
    for i in range(0, len(batch_inputs), batch_size):
        batch = batch_inputs[i:i + batch_size]
        padded = batch + [batch[-1]] * (batch_size - len(batch))
        out += [(float(a), float(p), float(n)) for a, p, n in
                reader(params, model_config, padded, vocab.pad_id, mesh)][:len(batch)]
    return out


def _digest(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


gin.register("score", module="mathft_jax.score")(ScoreSettings)


def main(argv: Optional[Sequence[str]] = None) -> Any:
    """`python -m mathft_jax.score`: the settings from gin, then `run_score`."""
    from mathft_jax import gin_utils
    return gin_utils.run_tool("score", ScoreSettings, run_score, argv)
