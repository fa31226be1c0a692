r"""Building blocks for SeqIO tasks: features, preprocessors, and registration helpers.

Every task here has two tokenized features and a few pass-through strings:

* `inputs`: the prompt (`prompts.sft_prompt` or `prompts.fewshot_prompt`), no EOS, ending
  where the model starts writing;
* `targets`: the solution, ending with `\boxed{answer}`, then EOS;
* `problem_id`, `answer` (gold), `level`, `subject`, `problem` (the bare statement): strings
  passed through untouched (the
  decoder reads them from `task.get_dataset(...)` before feature conversion; the feature
  converter drops them). `inputs_pretokenized` / `targets_pretokenized` are kept too.

With `seqio.DecoderFeatureConverter(pack=..., use_custom_packing_ops=False)` the converted
batch is the prefix-LM layout: `decoder_input_tokens`, `decoder_target_tokens`,
`decoder_loss_weights` (1 on target tokens only), `decoder_causal_attention`, and with
packing `decoder_positions`, `decoder_segment_ids`.

Long prompts are cut from the front (`keep_prompt_end`) so the prompt always ends with
"Solution:\n"; long solutions are cut at the end by seqio (then EOS is appended).

Example (a user's GSM8K file, one `{"question": ..., "answer": "... #### 72"}` a line):
    >>> register_jsonl_sft_task("gsm8k_sft", "gsm8k_train.jsonl",          # doctest: +SKIP
    ...     test_path="gsm8k_test.jsonl", problem_field="question",
    ...     solution_field="answer", solution_format="gsm8k")
    'gsm8k_sft'
"""

from __future__ import annotations

import json
import re
from typing import Callable, Mapping, Optional, Sequence

import gin
import seqio
import tensorflow as tf

from mathft_jax.data import answers as answers_lib
from mathft_jax.data import prompts
from mathft_jax.data import records as records_lib
from mathft_jax.data import task_options
from mathft_jax.data import task_reads
from mathft_jax.data import sources
from mathft_jax.data import vocab as vocab_lib
from mathft_jax.file_paths import as_path
from mathft_jax.errors import ConfigError

PASSTHROUGH_FEATURES = ("problem_id", "answer", "level", "subject", "problem")
SOLUTION_FORMATS = ("boxed", "gsm8k")
PROMPT_STYLES = ("sft", "fewshot")


# ------------------------------------------------------------------------ vocabularies


def _vocabulary(name: str) -> vocab_lib.DeferredVocabulary:
    """The vocabulary that `task_options.current()`'s field `name` names, built on first use
    and again when those options change."""
    options = lambda: getattr(task_options.current(), name)  # noqa: E731
    return vocab_lib.DeferredVocabulary(lambda: options().build(), name, key=options)


# The MATH and custom-file tasks' vocabulary (the model being fine-tuned picks it; gin:
# `mathft_jax.data.math_vocabulary.kind` / `.path`), and the synthetic tasks' (by default
# their own cached SentencePiece model; `mathft_jax.data.synthetic_vocabulary.*`).
MATH_VOCABULARY = _vocabulary("math_vocabulary")
SYNTHETIC_VOCABULARY = _vocabulary("synthetic_vocabulary")


def output_features(vocabulary: seqio.Vocabulary) -> dict[str, seqio.Feature]:
    """`inputs` (no EOS) and `targets` (EOS) with one vocabulary."""
    return {
        "inputs": seqio.Feature(vocabulary=vocabulary, add_eos=False, required=True),
        "targets": seqio.Feature(vocabulary=vocabulary, add_eos=True, required=True),
    }


# ------------------------------------------------------------------------ preprocessors


def keep_prompt_end(dataset: tf.data.Dataset,
                    sequence_length: Optional[Mapping[str, int]] = None) -> tf.data.Dataset:
    """Keeps the last `sequence_length["inputs"]` prompt tokens (the end says "Solution:")."""
    if not sequence_length or not sequence_length.get("inputs"):
        return dataset
    n = int(sequence_length["inputs"])

    def _trim(ex):
        ex = dict(ex)
        ex["inputs"] = ex["inputs"][-n:]
        return ex

    return dataset.map(_trim, num_parallel_calls=tf.data.AUTOTUNE)


def prepend_bos(dataset: tf.data.Dataset, output_features: Mapping[str, seqio.Feature],
                sequence_length: Optional[Mapping[str, int]] = None) -> tf.data.Dataset:
    """Puts the vocabulary's BOS id first in `inputs` (pretrained Gemma needs it), keeping the
    prompt within `sequence_length["inputs"]` by cutting its front."""
    bos = output_features["inputs"].vocabulary.bos_id
    if bos is None or bos < 0:
        raise ConfigError("a BOS task's vocabulary has no BOS id (bind "
                          "mathft_jax.data.math_vocabulary to a pretrained model's)")
    n = int(sequence_length["inputs"]) - 1 if sequence_length and sequence_length.get(
        "inputs") else None

    def _prepend(ex):
        ex = dict(ex)
        body = ex["inputs"] if n is None else ex["inputs"][-n:] if n > 0 else ex["inputs"][:0]
        ex["inputs"] = tf.concat([tf.constant([bos], body.dtype), body], axis=0)
        return ex

    return dataset.map(_prepend, num_parallel_calls=tf.data.AUTOTUNE)


PREPROCESSORS = (seqio.preprocessors.tokenize, keep_prompt_end,
                 seqio.preprocessors.append_eos_after_trim)
# The same with BOS first in every prompt (after the prompt is cut to length).
BOS_PREPROCESSORS = (seqio.preprocessors.tokenize, keep_prompt_end, prepend_bos,
                     seqio.preprocessors.append_eos_after_trim)


def example(problem_id: str, prompt: str, solution: str, answer: str, level: str = "",
            subject: str = "", problem: str = "") -> dict[str, str]:
    """One task record (all strings); `problem` is the bare statement (the evaluator's
    prompt quotes it)."""
    return {"problem_id": problem_id, "inputs": prompt, "targets": solution, "answer": answer,
            "level": level, "subject": subject, "problem": problem}


def format_prompt(problem: str, style: str) -> str:
    if style == "sft":
        return prompts.sft_prompt(problem)
    if style == "fewshot":
        return prompts.fewshot_prompt(problem)
    raise ValueError(f"prompt style must be one of {PROMPT_STYLES}, got {style!r}")


def register_records_task(name: str, records_fn: sources.RecordsFn, splits: Sequence[str],
                          vocabulary: seqio.Vocabulary, *, replace: bool = False,
                          metric_fns: Sequence[Callable] = (), bos: bool = False,
                          reads: Optional[task_reads.ReadsFn] = None) -> seqio.Task:
    """Registers a task over `records_fn(split) -> [example(...), ...]` (read lazily, and
    again under other `task_options`).

    Args:
      replace: re-register when `name` exists (otherwise seqio raises on a duplicate).
      bos: put the vocabulary's BOS id first in every prompt (`prepend_bos`).
      reads: what `records_fn` reads besides the split, `() -> {"options": {...}, "files":
        [...]}` (`task_reads`): a recipe stage reruns when it changes.
    """
    if reads is not None:
        task_reads.register_reads(name, reads)
    if replace and name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    return seqio.TaskRegistry.add(
        name, source=sources.RecordsDataSource(records_fn, splits, key=task_options.current),
        preprocessors=list(BOS_PREPROCESSORS if bos else PREPROCESSORS),
        output_features=output_features(vocabulary),
        metric_fns=list(metric_fns))


# ------------------------------------------------------------------------ custom JSONL files

_CALCULATOR = re.compile(r"<<[^<>]*>>")
_GSM8K_FINAL = re.compile(r"\n?####\s*(?P<ans>[^\n]*)\s*$")


def gsm8k_to_boxed(solution: str) -> tuple[str, Optional[str]]:
    r"""GSM8K's answer text -> (solution ending with `\boxed{X}`, X); (text, None) if no `####`.

    Calculator annotations `<<48/2=24>>` are removed and thousands separators dropped.

    Example:
        >>> gsm8k_to_boxed("She sold 48/2 = <<48/2=24>>24 clips.\n#### 24")
        ('She sold 48/2 = 24 clips.\nThe answer is $\\boxed{24}$.', '24')
    """
    text = _CALCULATOR.sub("", solution)
    match = _GSM8K_FINAL.search(text)
    if not match:
        return text, None
    ans = match.group("ans").strip().replace(",", "")
    return text[: match.start()].rstrip() + f"\nThe answer is $\\boxed{{{ans}}}$.", ans


def read_solution_file(path: str, *, problem_field: str = "problem",
                       solution_field: str = "solution", answer_field: Optional[str] = None,
                       id_field: Optional[str] = None, solution_format: str = "boxed",
                       prompt_style: str = "sft", on_error: str = "raise",
                       id_prefix: str = "") -> list[dict[str, str]]:
    r"""Reads a `(problem, solution[, answer])` JSONL file into task records.

    A line is malformed (error naming `path:line`, or skipped and counted with
    on_error="skip") when it is not a JSON object, lacks a field, has a non-string field,
    or its solution has no final answer (`\boxed{}` for "boxed", `####` for "gsm8k") and no
    `answer_field` is given. Without `id_field` the id is `<id_prefix><line number>`.
    """
    if solution_format not in SOLUTION_FORMATS:
        raise ValueError(f"solution_format must be one of {SOLUTION_FORMATS}, "
                         f"got {solution_format!r}")
    required = {problem_field: str, solution_field: str}
    optional = {answer_field: (str, int, float)} if answer_field else {}
    if id_field:
        optional[id_field] = (str, int)
    records_lib.check_on_error(on_error)
    report = records_lib.ReadReport(source=str(path))
    out = []
    with as_path(path).open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    raise records_lib.DataFormatError(path, line_no, f"bad JSON: {e}") from None
                records_lib.validate_record(obj, required, optional, path, line_no)
                solution = obj[solution_field]
                if solution_format == "gsm8k":
                    solution, answer = gsm8k_to_boxed(solution)
                else:
                    answer = answers_lib.last_boxed_content(solution)
                if answer_field and obj.get(answer_field) is not None:
                    answer = str(obj[answer_field])
                if answer is None:
                    want = "a final '#### X'" if solution_format == "gsm8k" else "a \\boxed{}"
                    raise records_lib.DataFormatError(
                        path, line_no, f"solution has no final answer ({want}) and no "
                        f"answer field")
                pid = str(obj[id_field]) if id_field and obj.get(id_field) is not None \
                    else f"{id_prefix}{line_no}"
                out.append(example(pid, format_prompt(obj[problem_field], prompt_style),
                                   solution.strip(), answer, str(obj.get("level", "")),
                                   str(obj.get("subject", obj.get("type", ""))),
                                   problem=str(obj[problem_field]).strip()))
            except records_lib.DataFormatError as err:
                report.skip_or_raise(err, on_error)
    report.finish(len(out))
    return out


_REGISTERED_CUSTOM: dict[str, tuple] = {}


@gin.register(module="mathft_jax.data")
def register_jsonl_sft_task(name: str = gin.REQUIRED, train_path: str = gin.REQUIRED,
                            test_path: Optional[str] = None, *, problem_field: str = "problem",
                            solution_field: str = "solution",
                            answer_field: Optional[str] = None, id_field: Optional[str] = None,
                            solution_format: str = "boxed", prompt_style: str = "sft",
                            on_error: str = "raise",
                            vocabulary: Optional[seqio.Vocabulary] = None) -> str:
    r"""Registers an SFT task over a JSONL of (problem, solution[, answer]); returns its name.

    The file is read on first use, not here. Calling again with the same arguments is a
    no-op, with different ones re-registers, so a gin file can use it as the value of the
    trainer's task name (`MIXTURE_OR_TASK_NAME = @register_jsonl_sft_task()`).

    Args:
      name: the task name.
      train_path: JSONL for the "train" split.
      test_path: optional JSONL for the "test" split.
      problem_field, solution_field: field names (GSM8K: "question", "answer").
      answer_field: optional field holding the gold answer; otherwise it is extracted from
        the solution.
      id_field: optional id field; otherwise `<name>/<split>/<line>`.
      solution_format: "boxed" (solution ends with `\boxed{}`) or "gsm8k" (`#### X`, turned
        into "The answer is $\boxed{X}$.").
      prompt_style: "sft" or "fewshot".
      on_error: "raise" or "skip" (counted and logged) for malformed lines.
      vocabulary: defaults to the MATH tasks' vocabulary (`MATH_VOCABULARY`).
    """
    for value, label in ((name, "name"), (train_path, "train_path")):
        if value is gin.REQUIRED or not value:
            raise ValueError(f"register_jsonl_sft_task needs {label} (bind "
                             f"mathft_jax.data.register_jsonl_sft_task.{label} in gin)")
    paths = {"train": train_path, **({"test": test_path} if test_path else {})}
    options = dict(problem_field=problem_field, solution_field=solution_field,
                   answer_field=answer_field, id_field=id_field,
                   solution_format=solution_format, prompt_style=prompt_style,
                   on_error=on_error)
    key = (tuple(sorted(paths.items())), tuple(sorted(options.items())), id(vocabulary))
    if _REGISTERED_CUSTOM.get(name) == key and name in seqio.TaskRegistry.names():
        return name

    def records_fn(split: str) -> list[dict[str, str]]:
        rows = read_solution_file(paths[split], id_prefix=f"{name}/{split}/", **options)
        if not rows:
            raise ConfigError(f"{paths[split]}: no records (the file is empty or every line "
                              f"was skipped)")
        return rows

    register_records_task(name, records_fn, list(paths), vocabulary or MATH_VOCABULARY,
                          replace=True, reads=lambda: {"options": options,
                                                       "files": list(paths.values())})
    _REGISTERED_CUSTOM[name] = key
    return name


def register_sft_mixture(name: str, tasks: Sequence[str | tuple[str, float]],
                         default_rate: float = 1.0, replace: bool = False) -> seqio.Mixture:
    """Registers a mixture of tasks (names, or (name, rate) pairs) sharing one vocabulary."""
    if replace and name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    return seqio.MixtureRegistry.add(name, list(tasks), default_rate=default_rate)
