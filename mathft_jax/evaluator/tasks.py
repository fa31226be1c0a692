"""Evaluator SeqIO tasks registered from a candidates file by gin alone.

    MIXTURE_OR_TASK_NAME = @register_evaluator_task()
    register_evaluator_task.name = 'synthetic_evaluator_pairs'
    register_evaluator_task.candidates_file = %EVALUATOR_CANDIDATES  # sampled on TRAIN problems
    register_evaluator_task.kind = 'pair'                             # or 'classification'
    register_evaluator_task.like_task = 'synthetic_sft'               # shares its vocabulary

The candidates are graded and turned into balanced examples (`examples.build_examples`) on
first use; the examples are also written next to the candidates
(`<candidates>.<name>.examples.jsonl`, `formats` schema) and the summary is printed.

kind "classification": `inputs` = the evaluator prompt (`prompts.EVALUATOR_TEMPLATE` or
`template`) + the label words' shared prefix, `targets` = [the label word's token] (no EOS).
Long prompts lose their front (the problem's start), so the prompt always ends where the label
is read. kind "pair": features `chosen` / `rejected`, each a prompt + prefix, converted into
one row by `pairs.PairFeatureConverter` (the trainer picks it for tasks with these features).
kind "steps": every unique sampled solution, built by `inputs.build_input` (the builder `score`
uses) with a label at each checked step and at the end (`step_records`, `steps.py`).
kind "tokens": the likelihood verifier's rows (`verifier.py`): every unique sampled solution
after the generator's prompt (`template` up to "{solution}"; default `prompts.GENERATOR_TEMPLATE`),
with token weights from its outcome and its checked results (`token_records`).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional

import gin
import seqio
import tensorflow as tf

from mathft_jax import formats
from mathft_jax.atomic_files import atomic_write_bytes
from mathft_jax.file_paths import as_path
from mathft_jax.data import prompts, sources
from mathft_jax.data.synthetic import checked_results
from mathft_jax.evaluator import examples as examples_lib
from mathft_jax.evaluator.inputs import build_input
from mathft_jax.evaluator.label_words import LabelWords, resolve_label_words
from mathft_jax.evaluator.pairs import PAIR_FEATURES
from mathft_jax.evaluator.steps import STEP_FEATURES
from mathft_jax.evaluator.verifier import (TOKEN_FEATURES, build_verifier_input,
                                           token_weights)
from mathft_jax.errors import ConfigError

KINDS = ("classification", "pair", "steps", "tokens")
_SPLITS = ("train",)


@dataclasses.dataclass(frozen=True)
class EvaluatorTaskInfo:
    kind: str
    template: str
    positive: str
    negative: str
    vocabulary: seqio.Vocabulary

    def label_words(self) -> LabelWords:
        return resolve_label_words(self.vocabulary, self.positive, self.negative)

    def prompt(self, problem: str, solution: str) -> str:
        return self.template.format(problem=problem.strip(), solution=solution.strip())


_REGISTERED: dict[str, tuple[tuple, EvaluatorTaskInfo]] = {}


def evaluator_info(name: str) -> Optional[EvaluatorTaskInfo]:
    """The evaluator settings of a registered evaluator task (None for other tasks)."""
    entry = _REGISTERED.get(name)
    return entry[1] if entry else None


def evaluator_info_of(task_or_mixture) -> EvaluatorTaskInfo:
    """The evaluator settings of a task, or of the evaluator tasks of a mixture (which must
    agree); ConfigError when there is none."""
    tasks = getattr(task_or_mixture, "tasks", None) or [task_or_mixture]
    infos = [i for i in (evaluator_info(t.name) for t in tasks) if i is not None]
    if not infos:
        raise ConfigError(f"{task_or_mixture.name!r} has no evaluator task (register one with "
                          "register_evaluator_task); the evaluator losses need its label words")
    words = {(i.positive, i.negative, i.template) for i in infos}
    if len(words) > 1:
        raise ConfigError(f"{task_or_mixture.name!r} mixes evaluator tasks with different label "
                          f"words or templates: {sorted(words)}")
    return infos[0]


@gin.configurable(module="mathft_jax.evaluator")
def register_evaluator_task(name: str = gin.REQUIRED, candidates_file: str = gin.REQUIRED,
                            kind: str = "classification", like_task: str = gin.REQUIRED, *,
                            template: str = prompts.EVALUATOR_TEMPLATE,
                            positive: str = prompts.EVALUATOR_LABELS[0],
                            negative: str = prompts.EVALUATOR_LABELS[1],
                            max_per_problem: int = 10, one_sided: str = "skip",
                            seed: int = 0, max_length: int = 256,
                            bos_id: Optional[int] = None) -> str:
    """Registers an evaluator task over `candidates_file`; returns its name.

    Args:
      name: the task name.
      candidates_file: candidates JSONL sampled on the generator's TRAINING problems.
      kind: "classification" or "pair".
      like_task: the generation task whose vocabulary the model uses.
      template: the evaluator prompt, with {problem} and {solution}.
      positive, negative: the label words (see `label_words`).
      max_per_problem, one_sided, seed: see `examples.build_examples`.
      max_length, bos_id: kind "steps" only: the rows' length and BOS (`inputs.build_input`;
        score with the same `max_prompt_length` and BOS).
    """
    for value, label in ((name, "name"), (candidates_file, "candidates_file"),
                         (like_task, "like_task")):
        if value is gin.REQUIRED or not value:
            raise ConfigError(f"register_evaluator_task needs {label} (bind "
                              f"mathft_jax.evaluator.register_evaluator_task.{label} in gin)")
    if kind not in KINDS:
        raise ConfigError(f"register_evaluator_task.kind must be one of {KINDS}, got {kind!r}")
    if kind == "tokens" and template == prompts.EVALUATOR_TEMPLATE:
        template = prompts.GENERATOR_TEMPLATE
    from mathft_jax.data.task_lookup import get_task  # imports the `tasks` registrations
    vocabulary = get_task(like_task).output_features["targets"].vocabulary
    info = EvaluatorTaskInfo(kind, template, positive, negative, vocabulary)
    key = (candidates_file, kind, like_task, template, positive, negative, max_per_problem,
           one_sided, seed, max_length, bos_id)
    if name in _REGISTERED and _REGISTERED[name][0] == key and name in seqio.TaskRegistry.names():
        return name
    info.label_words()  # reject unusable label words now, not at the first step
    build = dict(max_per_problem=max_per_problem, one_sided=one_sided, seed=seed)

    def records_fn(split: str) -> list[dict[str, str]]:
        del split  # train only
        if kind == "steps":
            return step_records(name, candidates_file, info, max_length, bos_id)
        if kind == "tokens":
            return token_records(name, candidates_file, info, max_length, bos_id)
        return _records(name, candidates_file, info, build)

    if name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    features = _output_features(kind, vocabulary)
    preprocessors = ([_step_tensors(info)] if kind == "steps" else
                     [_token_tensors] if kind == "tokens" else
                     [seqio.preprocessors.tokenize, _with_label_tokens(info)])
    seqio.TaskRegistry.add(
        name, source=sources.RecordsDataSource(records_fn, _SPLITS),
        preprocessors=preprocessors, output_features=features)
    _REGISTERED[name] = (key, info)
    return name


def _output_features(kind: str, vocabulary) -> dict[str, seqio.Feature]:
    names = {"classification": ("inputs", "targets"), "pair": PAIR_FEATURES,
             "steps": STEP_FEATURES, "tokens": TOKEN_FEATURES}[kind]
    return {k: seqio.Feature(vocabulary=vocabulary, add_eos=False, required=True)
            for k in names}


def _candidate_rows(name: str, candidates_file: str) -> list[dict]:
    if not as_path(candidates_file).exists():
        raise ConfigError(f"evaluator task {name!r}: candidates file {candidates_file} does not "
                          "exist (sample the training problems with infer first)")
    return formats.read_candidates(candidates_file)[0]


def _unique_solutions(name: str, candidates_file: str) -> list[dict]:
    """`examples.build_step_examples` of the file (kinds "steps" and "tokens"), with its
    summary printed; an error when it gives none."""
    examples, summary = examples_lib.build_step_examples(_candidate_rows(name, candidates_file))
    print(f"{name}: {examples_lib.format_step_summary(summary)}", flush=True)
    if not examples:
        raise ConfigError(f"evaluator task {name!r}: {candidates_file} gives no step examples "
                          f"({examples_lib.format_step_summary(summary)})")
    return examples


def _records(name: str, candidates_file: str, info: EvaluatorTaskInfo,
             build: Mapping) -> list[dict[str, str]]:
    rows = _candidate_rows(name, candidates_file)
    examples, summary = examples_lib.build_examples(rows, **build)
    print(f"{name}: {examples_lib.format_summary(summary)}", flush=True)
    atomic_write_bytes(f"{candidates_file}.{name}.examples.jsonl", formats.to_jsonl(examples))
    kind = "classification" if info.kind == "classification" else "pair"
    chosen = [e for e in examples if e["kind"] == kind]
    if not chosen:
        raise ConfigError(f"evaluator task {name!r}: {candidates_file} gives no {kind} "
                          f"examples ({examples_lib.format_summary(summary)})")
    if kind == "classification":
        return [{"problem_id": e["problem_id"], "inputs": info.prompt(e["problem"], e["solution"]),
                 "targets": "", "label": "1" if e["label"] else "0"} for e in chosen]
    return [{"problem_id": e["problem_id"], "chosen": info.prompt(e["problem"], e["chosen"]),
             "rejected": info.prompt(e["problem"], e["rejected"])} for e in chosen]


def _with_label_tokens(info: EvaluatorTaskInfo):
    """Preprocessor: prompt tokens (front-trimmed to the feature length) + the label prefix;
    for classification, targets = [label token]."""
    def preprocess(dataset: tf.data.Dataset, sequence_length: Optional[Mapping[str, int]] = None
                   ) -> tf.data.Dataset:
        words = info.label_words()
        prefix = tf.constant(words.prefix, tf.int32) if words.prefix else tf.zeros([0], tf.int32)
        names = ("inputs",) if info.kind == "classification" else PAIR_FEATURES

        def add(ex):
            ex = dict(ex)
            for k in names:
                tokens = tf.cast(ex[k], tf.int32)
                if sequence_length and sequence_length.get(k):
                    tokens = tokens[-(int(sequence_length[k]) - len(words.prefix)):]
                ex[k] = tf.concat([tokens, prefix], 0)
            if info.kind == "classification":
                ex["targets"] = tf.where(tf.equal(ex["label"], "1"), [words.positive],
                                         [words.negative])
            return ex

        return dataset.map(add, num_parallel_calls=tf.data.AUTOTUNE)
    return preprocess


def step_records(name: str, candidates_file: str, info: EvaluatorTaskInfo, max_length: int,
                 bos_id: Optional[int]) -> list[dict[str, str]]:
    """Kind "steps": every unique sampled solution of a problem with a gold answer, as token
    ids (`inputs.build_input`) with a label at each checked step and the outcome label at the
    end (see `examples.build_step_examples`). Token ids travel as space-separated strings."""
    examples = _unique_solutions(name, candidates_file)
    words = info.label_words()
    out = []
    for e in examples:
        built = build_input(info.vocabulary, info.template, e["problem"], e["solution"],
                            prefix=words.prefix, max_length=max_length, bos_id=bos_id,
                            step_ends=[end for end, _ in e["steps"]])
        labels = [ok for _, ok in e["steps"]][len(e["steps"]) - len(built.step_slots):]
        slots = list(built.step_slots) + [built.final_slot]
        out.append({"problem_id": e["problem_id"],
                    "tokens": " ".join(map(str, built.tokens)),
                    "read_slots": " ".join(map(str, slots)),
                    "read_labels": " ".join("1" if ok else "0" for ok in labels + [e["label"]])})
    return out


def _step_tensors(info: EvaluatorTaskInfo):
    """Preprocessor for kind "steps": `tokens` and `read_targets` (the label word's token at
    each read slot, 0 elsewhere) from the records' id strings."""
    def preprocess(dataset: tf.data.Dataset, sequence_length: Optional[Mapping[str, int]] = None
                   ) -> tf.data.Dataset:
        del sequence_length  # the records are built to the task's max_length
        words = info.label_words()

        def ints(text):
            return tf.strings.to_number(tf.strings.split(text), tf.int32)

        def convert(ex):
            tokens, slots = ints(ex["tokens"]), ints(ex["read_slots"])
            labels = tf.where(tf.equal(ints(ex["read_labels"]), 1), words.positive,
                              words.negative)
            targets = tf.tensor_scatter_nd_update(tf.zeros_like(tokens), slots[:, None], labels)
            return {"tokens": tokens, "read_targets": targets}

        return dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return preprocess


def token_records(name: str, candidates_file: str, info: EvaluatorTaskInfo, max_length: int,
                  bos_id: Optional[int]) -> list[dict[str, str]]:
    """Kind "tokens": every unique sampled solution of a problem with a gold answer, as token
    ids after the generator's prompt with the likelihood verifier's token weights
    (`verifier.build_verifier_input`, `verifier.token_weights`)."""
    examples = _unique_solutions(name, candidates_file)
    out = []
    for e in examples:
        built = build_verifier_input(info.vocabulary, info.template, e["problem"], e["solution"],
                                     max_length=max_length, bos_id=bos_id,
                                     results=checked_results(e["solution"].strip()))
        out.append({"problem_id": e["problem_id"], "tokens": " ".join(map(str, built.tokens)),
                    "token_weights": " ".join(map(str, token_weights(built, e["label"])))})
    return out


def _token_tensors(dataset: tf.data.Dataset,
                   sequence_length: Optional[Mapping[str, int]] = None) -> tf.data.Dataset:
    """Preprocessor for kind "tokens": the records' id strings as int32 features."""
    del sequence_length  # the records are built to the task's max_length

    def convert(ex):
        return {k: tf.strings.to_number(tf.strings.split(ex[k]), tf.int32)
                for k in TOKEN_FEATURES}

    return dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def feature_lengths(name: str, sequence_length: int, inputs_length: Optional[int]
                    ) -> Optional[dict[str, int]]:
    """Task lengths for an evaluator task (None for other tasks): pairs split the row in two
    halves; classification gives the prompt all but the one label slot."""
    info = evaluator_info(name)
    if info is None:
        return None
    if info.kind == "pair":
        # Each half gets the whole length, as scoring reads each prompt whole: a pair row is
        # two prompts long.
        return {"chosen": sequence_length, "rejected": sequence_length}
    if info.kind == "steps":
        return {k: sequence_length for k in STEP_FEATURES}
    if info.kind == "tokens":  # a row of n tokens gives n - 1 inputs and targets
        return {k: sequence_length for k in TOKEN_FEATURES}
    inputs = inputs_length or sequence_length - 1
    return {"inputs": inputs, "targets": sequence_length - inputs}


@gin.configurable(module="mathft_jax.evaluator")
def register_joint_mixture(name: str = gin.REQUIRED, generation_task: str = gin.REQUIRED,
                           evaluator_task: str = gin.REQUIRED, generation_rate: float = 1.0,
                           evaluator_rate: float = 1.0) -> str:
    """Registers the "generation and evaluation" mixture trained in one stage (the baseline of
    the sequential schedule); returns its name.

    With the SFT loss, the evaluator rows (a classification task) are trained by the
    full-vocabulary cross-entropy of their label token, the generation rows as usual.
    Rates are seqio's sampling rates (proportional, per task).
    """
    for value, label in ((name, "name"), (generation_task, "generation_task"),
                         (evaluator_task, "evaluator_task")):
        if value is gin.REQUIRED or not value:
            raise ConfigError(f"register_joint_mixture needs {label}")
    info = evaluator_info(evaluator_task)
    if info is None or info.kind != "classification":
        raise ConfigError(f"register_joint_mixture: {evaluator_task!r} is not a classification "
                          "evaluator task (register_evaluator_task with kind='classification')")
    if name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    seqio.MixtureRegistry.add(name, [(generation_task, generation_rate),
                                     (evaluator_task, evaluator_rate)])
    return name
