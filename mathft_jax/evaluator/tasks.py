"""Evaluator SeqIO tasks registered from an examples or candidates file by gin alone.

    MIXTURE_OR_TASK_NAME = @register_evaluator_task()
    register_evaluator_task.name = 'synthetic_evaluator_pairs'
    register_evaluator_task.candidates_file = %EVALUATOR_CANDIDATES  # sampled on TRAIN problems
    register_evaluator_task.kind = 'pair'                             # or 'classification'
    register_evaluator_task.like_task = 'synthetic_sft'               # shares its vocabulary

The examples come from an examples file (`examples_file`, `formats` schema, written by
`examples.write_examples`: the recipe's evaluator_examples stage), or are built on first use
from the candidates (graded then, `examples.build_examples`), with the summary printed.

Every kind's rows are built by `inputs.build_input`, the builder `score` uses (template ->
tokens -> front trim to `max_length` -> BOS -> label prefix), and travel as token ids, so a
candidate gives the same tokens in a training row as when it is scored with the same
`max_length` / `max_prompt_length` and BOS. kind "classification": `inputs` = that input,
`targets` = [the label word's token] (no EOS). kind "pair": features `chosen` / `rejected`, each
that input whole (each half gets the row's whole length), converted into one row by
`pairs.PairFeatureConverter` (the trainer picks it for tasks with these features). A feature
shorter than a built input (e.g. the joint mixture's `inputs`) keeps its end, BOS and label
prefix, exactly what `build_input` gives at that length. kind "steps": every unique sampled
solution, with a label at each checked step and at the end (`step_records`, `steps.py`).
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
from mathft_jax.file_paths import as_path
from mathft_jax.data import prompts, sources, task_reads
from mathft_jax.data.synthetic import checked_results
from mathft_jax.evaluator import examples as examples_lib
from mathft_jax.evaluator.inputs import EvaluatorInput, build_input
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
    max_length: int = 256
    bos_id: Optional[int] = None

    def label_words(self) -> LabelWords:
        return resolve_label_words(self.vocabulary, self.positive, self.negative)

    def build(self, problem: str, solution: str, **kw) -> EvaluatorInput:
        """The evaluator input of (problem, solution), as `score` builds it."""
        return build_input(self.vocabulary, self.template, problem, solution,
                           prefix=self.label_words().prefix, max_length=self.max_length,
                           bos_id=self.bos_id, **kw)


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


def register_evaluator_task(name: str = gin.REQUIRED, candidates_file: Optional[str] = None,
                            kind: str = "classification", like_task: str = gin.REQUIRED, *,
                            examples_file: Optional[str] = None,
                            template: str = prompts.EVALUATOR_TEMPLATE,
                            positive: str = prompts.EVALUATOR_LABELS[0],
                            negative: str = prompts.EVALUATOR_LABELS[1],
                            max_per_problem: int = 10, one_sided: str = "skip",
                            seed: int = 0, max_length: int = 256,
                            bos_id: Optional[int] = None) -> str:
    """Registers an evaluator task over `candidates_file` or `examples_file`; returns its name.

    Args:
      name: the task name.
      candidates_file: candidates JSONL sampled on the generator's TRAINING problems.
      examples_file: instead, the examples built from them (`examples.write_examples`);
        `max_per_problem`, `one_sided` and `seed` were applied when it was written.
      kind: one of `KINDS` (see the module docstring).
      like_task: the generation task whose vocabulary the model uses.
      template: the evaluator prompt, with {problem} and {solution}.
      positive, negative: the label words (see `label_words`).
      max_per_problem, one_sided, seed: see `examples.build_examples`.
      max_length, bos_id: every kind: the most tokens of an evaluator input (BOS and label
        prefix included) and the BOS id put first, or None (`inputs.build_input`); score
        with the same `max_prompt_length` and BOS. Training refuses a row length that cannot
        hold `max_length` (`feature_lengths`).
    """
    for value, label in ((name, "name"), (like_task, "like_task"),
                         (candidates_file or examples_file, "candidates_file")):
        if value is gin.REQUIRED or not value:
            raise ConfigError(f"register_evaluator_task needs {label} (bind "
                              f"mathft_jax.evaluator.register_evaluator_task.{label} in gin)")
    if candidates_file and examples_file:
        raise ConfigError("register_evaluator_task takes candidates_file or examples_file, "
                          "not both")
    if kind not in KINDS:
        raise ConfigError(f"register_evaluator_task.kind must be one of {KINDS}, got {kind!r}")
    if kind == "tokens" and template == prompts.EVALUATOR_TEMPLATE:
        template = prompts.GENERATOR_TEMPLATE
    from mathft_jax.data.task_lookup import get_task  # imports the `tasks` registrations
    vocabulary = get_task(like_task).output_features["targets"].vocabulary
    info = EvaluatorTaskInfo(kind, template, positive, negative, vocabulary, max_length, bos_id)
    options = dict(candidates_file=candidates_file, examples_file=examples_file, kind=kind,
                   like_task=like_task, template=template, positive=positive,
                   negative=negative, max_per_problem=max_per_problem, one_sided=one_sided,
                   seed=seed, max_length=max_length, bos_id=bos_id)
    key = tuple(options.values())
    if name in _REGISTERED and _REGISTERED[name][0] == key and name in seqio.TaskRegistry.names():
        return name
    info.label_words()  # reject unusable label words now, not at the first step
    data = ExampleSource(name, candidates_file, examples_file,
                         dict(max_per_problem=max_per_problem, one_sided=one_sided, seed=seed))

    def records_fn(split: str) -> list[dict[str, str]]:
        del split  # train only
        if kind == "steps":
            return step_records(data, info)
        if kind == "tokens":
            return token_records(data, info)
        return _records(data, info)

    if name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    features = _output_features(kind, vocabulary)
    preprocessors = ([_step_tensors(info)] if kind == "steps" else
                     [_token_tensors] if kind == "tokens" else
                     [_built_tensors(info)])
    seqio.TaskRegistry.add(
        name, source=sources.RecordsDataSource(records_fn, _SPLITS),
        preprocessors=preprocessors, output_features=features)
    _REGISTERED[name] = (key, info)
    task_reads.register_reads(name, lambda: {
        "options": {**options, "like_task": task_reads.task_identity(like_task)},
        "files": [candidates_file or examples_file]})
    return name


# Not decorators: mutmut skips decorated functions (tests/mutation_report.md).
register_evaluator_task = gin.register(register_evaluator_task, module="mathft_jax.evaluator")


def _output_features(kind: str, vocabulary) -> dict[str, seqio.Feature]:
    names = {"classification": ("inputs", "targets"), "pair": PAIR_FEATURES,
             "steps": STEP_FEATURES, "tokens": TOKEN_FEATURES}[kind]
    return {k: seqio.Feature(vocabulary=vocabulary, add_eos=False, required=True)
            for k in names}


@dataclasses.dataclass(frozen=True)
class ExampleSource:
    """Where an evaluator task's examples come from: an examples file, or candidates built into
    examples on first use (`build`: `examples.build_examples`' settings)."""
    name: str
    candidates_file: Optional[str]
    examples_file: Optional[str]
    build: Mapping

    def _candidates(self) -> list[dict]:
        """The candidate rows ([] with an examples file); an error when the file is missing."""
        path = self.examples_file or self.candidates_file
        if not as_path(path).exists():
            raise ConfigError(
                f"evaluator task {self.name!r}: "
                + (f"examples file {path} does not exist (write it with "
                   "examples.write_examples: the recipe's evaluator_examples stage)"
                   if self.examples_file else f"candidates file {path} does not exist "
                   "(sample the training problems with infer first)"))
        return [] if self.examples_file else formats.read_candidates(path)[0]

    def balanced(self, kind: str) -> list[dict]:
        """The examples of `kind` ("classification" or "pair"); an error when there are
        none."""
        rows = self._candidates()
        if self.examples_file:
            chosen = formats.read_examples(self.examples_file, kind)
            why = f"{len(chosen)} {kind} examples in {self.examples_file}"
        else:
            examples, summary = examples_lib.build_examples(rows, **self.build)
            chosen = [e for e in examples if e["kind"] == kind]
            why = examples_lib.format_summary(summary)
        return self._announced(chosen, kind, why)

    def solutions(self) -> list[dict]:
        """`examples.build_step_examples` rows (kinds "steps" and "tokens"), with a summary
        printed; an error when there are none."""
        rows = self._candidates()
        if self.examples_file:
            examples, steps = examples_lib.with_steps(
                formats.read_examples(self.examples_file, "solution"))
            why = (f"{len(examples)} solutions in {self.examples_file} with {steps['steps']} "
                   f"checked steps ({steps['wrong_steps']} wrong)")
        else:
            examples, summary = examples_lib.build_step_examples(rows)
            why = examples_lib.format_step_summary(summary)
        return self._announced(examples, "step", why)

    def _announced(self, examples: list[dict], kind: str, why: str) -> list[dict]:
        """`examples` after printing `why`; an error naming the file when there are none."""
        print(f"{self.name}: {why}", flush=True)
        if not examples:
            raise ConfigError(f"evaluator task {self.name!r}: "
                              f"{self.examples_file or self.candidates_file} gives no {kind} "
                              f"examples ({why})")
        return examples


def _records(data: ExampleSource, info: EvaluatorTaskInfo) -> list[dict[str, str]]:
    """Kinds "classification" and "pair": the balanced examples (`examples.build_examples`)
    as token ids (`EvaluatorTaskInfo.build`), space-separated strings."""
    chosen = data.balanced(info.kind)

    def ids(e: Mapping, key: str) -> str:  # the input of e's solution under `key`
        return " ".join(map(str, info.build(e["problem"], e[key]).tokens))
    if info.kind == "classification":
        return [{"problem_id": e["problem_id"], "inputs": ids(e, "solution"),
                 "label": "1" if e["label"] else "0"} for e in chosen]
    return [{"problem_id": e["problem_id"], "chosen": ids(e, "chosen"),
             "rejected": ids(e, "rejected")} for e in chosen]


def _built_tensors(info: EvaluatorTaskInfo):
    """Preprocessor for kinds "classification" and "pair": the records' token ids as int32
    features, each cut to its feature length the way `build_input` cuts (the front of the
    prompt goes; BOS and the label prefix stay); for classification, targets = [label token]."""
    def preprocess(dataset: tf.data.Dataset, sequence_length: Optional[Mapping[str, int]] = None
                   ) -> tf.data.Dataset:
        words = info.label_words()
        names = ("inputs",) if info.kind == "classification" else PAIR_FEATURES
        head = 0 if info.bos_id is None else 1
        lengths = {k: int(sequence_length[k]) for k in names
                   if sequence_length and sequence_length.get(k)}
        for k, n in lengths.items():
            if n - head - len(words.prefix) < 1:
                raise ConfigError(f"evaluator task feature {k!r} of length {n} leaves no room "
                                  f"for a prompt after {head} BOS and {len(words.prefix)} "
                                  "label-prefix tokens")

        def convert(ex):
            out = {}
            for k in names:
                tokens = tf.strings.to_number(tf.strings.split(ex[k]), tf.int32)
                if k in lengths:  # = build_input at this length (the prompt's tail is kept)
                    n = lengths[k]
                    tokens = tf.cond(tf.size(tokens) > n,
                                     lambda t=tokens, n=n: tf.concat([t[:head], t[head - n:]], 0),
                                     lambda t=tokens: t)
                out[k] = tokens
            if info.kind == "classification":
                out["targets"] = tf.where(tf.equal(ex["label"], "1"), [words.positive],
                                          [words.negative])
            return out

        return dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return preprocess


def step_records(data: ExampleSource, info: EvaluatorTaskInfo) -> list[dict[str, str]]:
    """Kind "steps": every unique sampled solution of a problem with a gold answer, as token
    ids (`inputs.build_input`) with a label at each checked step and the outcome label at the
    end (see `examples.build_step_examples`). Token ids travel as space-separated strings."""
    examples = data.solutions()
    out = []
    for e in examples:
        built = info.build(e["problem"], e["solution"], step_ends=[end for end, _ in e["steps"]])
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


def token_records(data: ExampleSource, info: EvaluatorTaskInfo) -> list[dict[str, str]]:
    """Kind "tokens": every unique sampled solution of a problem with a gold answer, as token
    ids after the generator's prompt with the likelihood verifier's token weights
    (`verifier.build_verifier_input`, `verifier.token_weights`)."""
    examples = data.solutions()
    out = []
    for e in examples:
        built = build_verifier_input(info.vocabulary, info.template, e["problem"], e["solution"],
                                     max_length=info.max_length, bos_id=info.bos_id,
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
    """Task lengths for an evaluator task (None for other tasks): each half of a pair gets the
    whole length; classification gives the prompt all but the one label slot.

    Raises:
      ConfigError: the task's inputs (`max_length`) do not fit these lengths: rows would be
        cut shorter than `score` reads them.
    """
    info = evaluator_info(name)
    if info is None:
        return None
    if info.kind == "pair":
        # Each half gets the whole length, as scoring reads each prompt whole: a pair row is
        # two prompts long.
        lengths = {"chosen": sequence_length, "rejected": sequence_length}
    elif info.kind == "steps":
        lengths = {k: sequence_length for k in STEP_FEATURES}
    elif info.kind == "tokens":  # a row of n tokens gives n - 1 inputs and targets
        lengths = {k: sequence_length for k in TOKEN_FEATURES}
    else:
        inputs = inputs_length or sequence_length - 1
        lengths = {"inputs": inputs, "targets": sequence_length - inputs}
    room = min(lengths.values()) if info.kind != "classification" else lengths["inputs"]
    if info.max_length > room:
        raise ConfigError(
            f"evaluator task {name!r} ({info.kind}) builds inputs of up to max_length="
            f"{info.max_length} tokens, but rows of sequence_length={sequence_length} hold "
            f"{room}" + (" (the label token takes the last slot)"
                         if info.kind == "classification" else "") +
            f": bind register_evaluator_task.max_length = {room} and score with "
            f"max_prompt_length = {room}, or train with longer rows")
    return lengths


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


register_joint_mixture = gin.register(register_joint_mixture, module="mathft_jax.evaluator")
