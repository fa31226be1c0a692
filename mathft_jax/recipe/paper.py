"""The paper's chain (Liu et al. 2023) as recipe stages, in miniature by default.

    sft_detailed ──┬─ train_samples ── graded_train_samples ── evaluator_examples ─┐
                   │  ┌───────────────────────────────────────────────────────────┘
                   │  ├─ evaluator_<loss> (classification / margin / mixture),
                   │  │  evaluator_steps, evaluator_likelihood (the verifier)
                   │  └─ joint (generation + evaluation mixture from SSFT, as
                   │            many steps as evaluator + second generator)
                   ├─ control (more generator steps, no evaluator stage)
    sft_terse      │  evaluator_margin (or _likelihood, `multitask_from`) ── multitask (the
                   │  generator again, after the evaluator)
    test_<generator> for sft_detailed, sft_terse, multitask, control, joint (`joint_mixture`)
    graded_<samples> (each candidates file graded once: answers, clusters, correctness)
    scores_<loss>  (each evaluator on test_sft_detailed)
    eval_<row>     (votes, re-ranking, intervals from the graded file; one per table row)
    report         (`table.py`: the table, the paired comparisons and the three verdicts)

Every stage is a call of the library's own tools (`trainer.train_loop`, `infer`, `score`,
`evaluate`, `evaluation.graded`, `evaluator.examples`) into its own folder, so each is
resumable and each output is the documented file of that tool. Each candidates file is graded
once, by its graded_* stage; the evaluator examples, the eval_* stages and the report read
that grading.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

from mathft_jax import formats
from mathft_jax.decoding.sampling import Sampling
from mathft_jax.errors import ConfigError
from mathft_jax.recipe.runner import Stage, read_manifest
from mathft_jax.recipe.settings import RecipeSettings

CANDIDATES = "candidates.jsonl"
SCORES = "scores.jsonl"
GRADED = "graded.jsonl"
EXAMPLES = "examples.jsonl"
EXAMPLES_STAGE = "evaluator_examples"
# `examples.build_examples`' settings of the recipe's evaluator data.
EXAMPLE_BUILD = {"max_per_problem": 10, "one_sided": "skip"}
GENERATORS = ("sft_detailed", "sft_terse", "multitask", "control", "joint")
STEP_ROW = "SSFT detailed + step evaluator"
VERIFIER_ROW = "SSFT detailed + likelihood verifier (trained)"
LIKELIHOOD_ROWS = ("SSFT detailed + own likelihood (total, untrained)",
                   "SSFT detailed + own likelihood (per token, untrained)")


def skipped(folder: str) -> Optional[str]:
    """Why the stage in `folder` produced nothing (None when it did)."""
    manifest = read_manifest(folder) or {}
    return (manifest.get("outputs") or {}).get("skipped")


def _unless_inputs_skipped(fn):
    """A stage function that is skipped, with the reason, when one of its inputs was.

    Applied as a call, not as a decorator: mutmut skips decorated functions, which left the
    stage bodies below out of the mutation runs (tests/mutation_report.md)."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        for name, path in inputs.items():
            reason = skipped(path)
            if reason:
                print(f"  skipped: {name} was skipped ({reason})", flush=True)
                return {"skipped": f"{name}: {reason}"}
        return fn(folder, inputs)
    return run


def _train(s: RecipeSettings, task, steps: int, learning_rate: float,
           init: Optional[str] = None, loss: Optional[str] = None):
    """A stage function training `task` (a name, or a function of the inputs giving one)."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax.evaluator.losses import make_evaluator_loss
        from mathft_jax.evaluator.objective import task_objective
        from mathft_jax.training import optimizers, trainer
        from mathft_jax.training.losses import make_sft_loss
        built = optimizers.build_optimizer(
            steps, schedule={"peak_value": learning_rate, "decay": "cosine",
                             "warmup_steps": min(s.warmup_steps, steps // 2),
                             "end_value_fraction": 0.1},
            optimizer={"weight_decay": 0.01})
        factory = make_sft_loss
        if loss is not None:
            def factory(cfg, t):
                return make_evaluator_loss(cfg, t, loss=loss)
        result = trainer.train_loop(
            model_config=s.model_config, model_dir=folder,
            mixture_or_task_name=task(inputs) if callable(task) else task, train_steps=steps,
            **built.train_loop_args(),
            # Only the SSFT stages have no input model: they start from `init_checkpoint`.
            objective=task_objective(factory),
            init_checkpoint=inputs[init] if init else s.init_checkpoint,
            batch_size=s.batch_size, sequence_length=s.sequence_length, seed=s.seed,
            checkpoint_every=max(steps // 3, 1), log_every=max(steps // 5, 1), eval_every=0,
            # Only the newest checkpoint is needed: to resume this stage, and as the params
            # of the stages that read it (`restore_params` takes the latest step). Those read
            # params only, so the final step leaves the optimizer state out; a rerun of the
            # stage that finds it (killed before its manifest said complete) returns at once.
            keep_checkpoints=s.keep_checkpoints,
            final_optimizer_state=s.keep_optimizer_state,
            # Stages side by side save synchronously (`checkpoints._ONE_SAVE_AT_A_TIME`).
            async_checkpoints=s.parallel_stages == 1,
            summary_dir=(os.path.join(s.summary_dir, os.path.basename(folder))
                         if s.summary_dir else None))
        if result.preempted:
            raise SystemExit(f"{folder}: preempted at step {result.step}; rerun to continue")
        return {"final_metrics": result.train_metrics, "steps": result.step}
    return _unless_inputs_skipped(run)


def _no_terse_task(folder: str, inputs: Mapping[str, str]) -> dict:
    """The terse SSFT stage when `terse_task` is None (a dataset with one solution style)."""
    reason = "no terse task (terse_task = None)"
    print(f"  skipped: {reason}", flush=True)
    return {"skipped": reason}


def _kind(loss: str) -> str:
    """The evaluator task kind a loss trains on."""
    return "classification" if loss == "classification" else "pair"


def _max_length(s: RecipeSettings, kind: str) -> int:
    """The most tokens of an evaluator input (BOS and label prefix included), for the task's
    rows and for `score` alike: a classification row's label token takes its last slot."""
    return s.sequence_length - 1 if kind == "classification" else s.sequence_length


def _bos_id(s: RecipeSettings) -> Optional[int]:
    """The BOS id of the evaluator tasks' rows: the one `score` puts first with
    `prepend_bos` for an evaluator checkpoint (which names none): the vocabulary's."""
    if not s.prepend_bos:
        return None
    from mathft_jax.data.task_lookup import get_task
    bos = get_task(s.generation_task).output_features["targets"].vocabulary.bos_id
    if bos is None or bos < 0:
        raise ConfigError(f"RecipeSettings.prepend_bos = True but the vocabulary of "
                          f"{s.generation_task!r} has no BOS id")
    return bos


OUTCOME_LOSSES = ("classification", "margin", "mixture")
# Each evaluator kind of `evaluator_stage`: (its task's kind, how `score` reads it).
_TASK_AND_READ = {"steps": ("steps", "steps"), "likelihood": ("tokens", "likelihood")}


def _task_and_read(kind: str) -> tuple[str, str]:
    if kind in OUTCOME_LOSSES:
        return _kind(kind), "final"
    if kind in _TASK_AND_READ:
        return _TASK_AND_READ[kind]
    raise ConfigError(f"evaluator kind {kind!r}: one of "
                      f"{OUTCOME_LOSSES + tuple(_TASK_AND_READ)}")


def evaluator_stage(s: RecipeSettings, kind: str, steps: int,
                    samples: str = "train_samples", tag: str = ""):
    """The stage function training one evaluator of `kind` from the detailed SSFT model on
    the candidates of stage `samples`, for `steps` steps.

    kind: an outcome loss of the paper (`OUTCOME_LOSSES`; skipped, see `_needs_examples`,
    when no problem has both labels), "steps" (the process-supervised evaluator: the
    classification loss read at every checked step and at the end of each unique training
    sample, `evaluator/steps.py`) or "likelihood" (the verifier: the language-model loss on
    correct samples and right step results, unlikelihood on wrong results,
    `evaluator/verifier.py`). `tag` ends the evaluator task's name, so that stages training
    on different candidates register different tasks.
    """
    task_kind, _ = _task_and_read(kind)
    task = _evaluator_task(s, f"recipe_evaluator_{task_kind}{tag}", task_kind, samples)
    if kind in OUTCOME_LOSSES:
        return _needs_examples(s, task_kind, _train(
            s, task, steps, s.evaluator_learning_rate, init="sft_detailed", loss=kind),
            samples)
    if kind == "steps":
        return _train(s, task, steps, s.step_evaluator_learning_rate, init="sft_detailed",
                      loss="classification")
    return _train(s, task, steps, s.verifier_learning_rate, init="sft_detailed",
                  loss="likelihood")


def evaluator_settings(s: RecipeSettings, kind: str, steps: int) -> dict:
    """The fingerprinted settings of an `evaluator_stage` of `kind`."""
    task_kind, _ = _task_and_read(kind)
    base = {**_shared(s), "steps": steps, "task": s.generation_task, **_bos(s), **_reads(s)}
    if kind in OUTCOME_LOSSES:
        return {**base, "loss": kind, "lr": s.evaluator_learning_rate,
                "label_words": list(s.label_words)}
    if kind == "steps":
        return {**base, "kind": task_kind, "lr": s.step_evaluator_learning_rate,
                "label_words": list(s.label_words)}
    return {**base, "kind": task_kind, "lr": s.verifier_learning_rate}


def _shared(s: RecipeSettings) -> dict:
    """The settings every training stage's fingerprint holds."""
    common = s.as_dict()
    return {k: common[k] for k in ("model_config", "batch_size", "sequence_length", "seed",
                                   "warmup_steps")}


def _reads(s: RecipeSettings) -> dict:
    """What the generation task reads (options, data files, vocabulary bindings): a stage
    that reads the task reruns, with everything downstream, when any of it changes."""
    from mathft_jax.data.task_reads import task_identity
    return {"task_reads": task_identity(s.generation_task)}


def _bos(s: RecipeSettings) -> dict:
    """A fingerprint key only when not at its default, so the synthetic recipe's stay put."""
    return {"prepend_bos": True} if s.prepend_bos else {}


def _needs_examples(s: RecipeSettings, kind: str, train, samples: str = "train_samples"):
    """`train`, or a skip (with the data summary) when the training samples hold no problem
    with both correct and incorrect solutions: an evaluator has nothing to learn from."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax.evaluator import examples
        if samples == "train_samples":  # graded once, its examples built by their stage
            summary = read_manifest(inputs[EXAMPLES_STAGE])["outputs"]["data"]
            found = summary["classification" if kind == "classification" else "pairs"]
        else:  # another stage's candidates (the scaling study's subsets): built here
            rows, _ = formats.read_candidates(os.path.join(inputs[samples], CANDIDATES))
            examples_found, summary = examples.build_examples(rows, seed=s.seed)
            found = any(e["kind"] == kind for e in examples_found)
        if not found:
            reason = f"no {kind} examples: {examples.format_summary(summary)}"
            print(f"  skipped: {reason}", flush=True)
            return {"skipped": reason, "data": summary}
        return {**train(folder, inputs), "data": summary}
    return run


def _examples_source(s: RecipeSettings, inputs: Mapping[str, str], samples: str) -> dict:
    """How an evaluator task over the candidates of `samples` gets its examples: the
    evaluator_examples stage's file for the training samples, else their candidates."""
    if samples == "train_samples":
        return {"examples_file": os.path.join(inputs[EXAMPLES_STAGE], EXAMPLES)}
    return {"candidates_file": os.path.join(inputs[samples], CANDIDATES), "seed": s.seed}


def _evaluator_task(s: RecipeSettings, name: str, kind: str, samples: str = "train_samples"):
    def task(inputs: Mapping[str, str]) -> str:
        from mathft_jax.evaluator.tasks import register_evaluator_task
        return register_evaluator_task(
            name=name, **_examples_source(s, inputs, samples),
            kind=kind, like_task=s.generation_task, positive=s.label_words[0],
            negative=s.label_words[1], max_length=_max_length(s, kind), bos_id=_bos_id(s))
    return task


def _grade(samples: str):
    """Grades the candidates of stage `samples` into graded.jsonl (`evaluation.graded`)."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax import distributed
        from mathft_jax.evaluation.graded import grade_file
        if not distributed.is_primary_host():  # it writes the file the next stages read
            return {}
        return grade_file(os.path.join(inputs[samples], CANDIDATES),
                          os.path.join(folder, GRADED))
    return _unless_inputs_skipped(run)


def _examples(s: RecipeSettings):
    """The evaluator examples of the training samples, from their grading
    (`examples.write_examples`), with their summary printed."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax import distributed
        from mathft_jax.evaluator import examples
        if not distributed.is_primary_host():  # it writes the file the next stages read
            return {}
        summaries = examples.write_examples(
            os.path.join(inputs["train_samples"], CANDIDATES),
            os.path.join(inputs["graded_train_samples"], GRADED), os.path.join(folder, EXAMPLES),
            seed=s.seed, **EXAMPLE_BUILD)
        print(examples.format_summary(summaries["data"]), flush=True)
        return summaries
    return run


def _likelihood_scores(per_token: bool):
    """Scores the detailed model's test samples by its own probability of each (no training):
    exp(total log-prob), or exp(mean log-prob per token)."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax.evaluator.likelihood import write_likelihood_scores
        return write_likelihood_scores(os.path.join(inputs["test_sft_detailed"], CANDIDATES),
                                       os.path.join(folder, SCORES), per_token=per_token)
    return _unless_inputs_skipped(run)


def _joint_task(s: RecipeSettings):
    def task(inputs: Mapping[str, str]) -> str:
        from mathft_jax.evaluator.tasks import register_joint_mixture
        evaluator = _evaluator_task(s, "recipe_joint_evaluator", "classification")(inputs)
        return register_joint_mixture(name="recipe_joint", generation_task=s.generation_task,
                                      evaluator_task=evaluator, evaluator_rate=0.25)
    return task


def _sample(s: RecipeSettings, generator: str, split: str, problems: int, samples: int):
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax.infer import infer
        summary = infer(model_config=s.model_config, checkpoint=inputs[generator],
                        mixture_or_task_name=s.eval_task, output_file=os.path.join(
                            folder, CANDIDATES), split=split, greedy=True,
                        num_samples=samples, sampling=Sampling(temperature=s.temperature),
                        max_new_tokens=s.max_new_tokens, batch_size=s.decode_batch_size,
                        max_problems=problems, seed=s.seed, prepend_bos=s.prepend_bos)
        return {"generated_tokens": summary["generated_tokens"],
                "tokens_per_second": summary["tokens_per_second"]}
    return _unless_inputs_skipped(run)


def score_settings(s: RecipeSettings, kind: str) -> dict:
    """The fingerprinted settings of a `score_stage` for an evaluator of `kind` (see
    `evaluator_stage`)."""
    task_kind, read = _task_and_read(kind)
    out = {"batch_size": s.score_batch_size, "max_length": _max_length(s, task_kind)}
    if read != "likelihood":
        out["label_words"] = list(s.label_words)
    if read != "final":
        out["read"] = read
    return {**out, **_bos(s), **_reads(s)}


def score_stage(s: RecipeSettings, evaluator: str, kind: str,
                candidates: str = "test_sft_detailed"):
    """The stage function scoring the candidates of stage `candidates` with the evaluator
    trained by stage `evaluator`, an `evaluator_stage` of `kind`, its inputs built as its
    task's rows were (the same max length; the same BOS, `_bos_id`)."""
    task_kind, read = _task_and_read(kind)

    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax.score import score
        summary = score(model_config=s.model_config, checkpoint=inputs[evaluator],
                        candidates_file=os.path.join(inputs[candidates], CANDIDATES),
                        output_file=os.path.join(folder, SCORES), like_task=s.generation_task,
                        positive=s.label_words[0], negative=s.label_words[1],
                        batch_size=s.score_batch_size, prepend_bos=s.prepend_bos, read=read,
                        max_prompt_length=_max_length(s, task_kind))
        return {"candidates_per_second": summary["candidates_per_second"]}
    return _unless_inputs_skipped(run)


def _evaluate(s: RecipeSettings, samples: str, scores: Optional[str] = None):
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax.evaluate import evaluate
        evaluate(graded_file=os.path.join(inputs["graded_" + samples], GRADED),
                 output_dir=folder,
                 scores_file=os.path.join(inputs[scores], SCORES) if scores else None,
                 pass_ks=s.pass_ks, maj_ks=s.maj_ks, rerank_k=s.rerank_k,
                 num_bootstrap=s.num_bootstrap, curve_repeats=s.curve_repeats, seed=s.seed)
        return {"report": os.path.join(folder, "report.json")}
    return _unless_inputs_skipped(run)


def rows(s: RecipeSettings) -> list[tuple[str, str, Optional[str]]]:
    """The table's rows: (label, test-samples stage, scores stage or None)."""
    out = [("SSFT detailed", "test_sft_detailed", None),
           ("SSFT terse", "test_sft_terse", None)]
    out += [(f"SSFT detailed + {loss} evaluator", "test_sft_detailed", f"scores_{loss}")
            for loss in s.evaluator_losses]
    if s.step_evaluator_steps:
        out.append((STEP_ROW, "test_sft_detailed", "scores_steps"))
    if s.verifier_steps:
        out.append((VERIFIER_ROW, "test_sft_detailed", "scores_verifier"))
    if s.likelihood_baselines:
        out += [(LIKELIHOOD_ROWS[0], "test_sft_detailed", "scores_likelihood"),
                (LIKELIHOOD_ROWS[1], "test_sft_detailed", "scores_likelihood_per_token")]
    out += [("multi-task sequential", "test_multitask", None),
            ("extra-MLE-steps control", "test_control", None)]
    if s.joint_mixture:
        out.append(("joint mixture", "test_joint", None))
    return out


def generators(s: RecipeSettings) -> tuple[str, ...]:
    """The trained generators whose test samples make rows of the table."""
    return GENERATORS if s.joint_mixture else tuple(g for g in GENERATORS if g != "joint")


def _graded_stage(samples: str) -> Stage:
    """The stage grading `samples`' candidates once, for every stage that reads them."""
    return Stage("graded_" + samples, (samples,), {"version": formats.GRADED_VERSION},
                 _grade(samples))


def stages(s: RecipeSettings, report_fn) -> list[Stage]:
    """Every stage of the chain; `report_fn(folder, inputs, settings, rows)` writes the report."""
    from mathft_jax.data.task_reads import task_identity
    common = s.as_dict()
    shared, reads = _shared(s), _reads(s)
    decode = {k: common[k] for k in ("eval_task", "temperature", "max_new_tokens",
                                     "decode_batch_size", "seed", "model_config")}
    decode["eval_task_reads"] = task_identity(s.eval_task)
    terse_steps = s.sft_steps if s.terse_steps is None else s.terse_steps
    # Keys only when not at their defaults, so the synthetic recipe's fingerprints stay put.
    start = {"init_checkpoint": s.init_checkpoint} if s.init_checkpoint else {}
    bos = _bos(s)
    decode.update(bos)
    out = [
        Stage("sft_detailed", (), {**shared, "task": s.generation_task, "steps": s.sft_steps,
                                   "lr": s.sft_learning_rate, **start, **reads},
              _train(s, s.generation_task, s.sft_steps, s.sft_learning_rate)),
        Stage("sft_terse", (), {**shared, "task": s.terse_task, "steps": terse_steps,
                                "lr": s.sft_learning_rate, **start,
                                "task_reads": task_identity(s.terse_task) if s.terse_task
                                else None},
              _train(s, s.terse_task, terse_steps, s.sft_learning_rate)
              if s.terse_task else _no_terse_task),
        Stage("train_samples", ("sft_detailed",),
              {**decode, "problems": s.train_problems, "samples": s.train_samples},
              _sample(s, "sft_detailed", "train", s.train_problems, s.train_samples)),
        _graded_stage("train_samples"),
        Stage(EXAMPLES_STAGE, ("train_samples", "graded_train_samples"),
              {**EXAMPLE_BUILD, "seed": s.seed, "version": formats.EXAMPLES_VERSION},
              _examples(s)),
    ]
    evaluator_losses = tuple(dict.fromkeys(s.evaluator_losses + ("margin",)))
    for loss in evaluator_losses:
        out.append(Stage(f"evaluator_{loss}", (EXAMPLES_STAGE, "sft_detailed"),
                         evaluator_settings(s, loss, s.evaluator_steps),
                         evaluator_stage(s, loss, s.evaluator_steps)))
    if s.step_evaluator_steps:
        out.append(Stage("evaluator_steps", (EXAMPLES_STAGE, "sft_detailed"),
                         evaluator_settings(s, "steps", s.step_evaluator_steps),
                         evaluator_stage(s, "steps", s.step_evaluator_steps)))
    if s.verifier_steps:
        out.append(Stage("evaluator_likelihood", (EXAMPLES_STAGE, "sft_detailed"),
                         evaluator_settings(s, "likelihood", s.verifier_steps),
                         evaluator_stage(s, "likelihood", s.verifier_steps)))
    second = {**shared, "task": s.generation_task, "steps": s.second_generator_steps,
              "lr": s.second_generator_learning_rate, **reads}
    # The joint mixture starts where the sequential chain does (the detailed SSFT model) and
    # trains as long as its evaluator + generator stages together, on both tasks at once.
    joint_steps = s.evaluator_steps + s.second_generator_steps
    first_task = f"evaluator_{s.multitask_from}"
    out += [
        Stage("multitask", (first_task,), second,
              _train(s, s.generation_task, s.second_generator_steps,
                     s.second_generator_learning_rate, init=first_task)),
        Stage("control", ("sft_detailed",), second,
              _train(s, s.generation_task, s.second_generator_steps,
                     s.second_generator_learning_rate, init="sft_detailed")),
    ]
    if s.joint_mixture:
        out.append(Stage("joint", (EXAMPLES_STAGE, "sft_detailed"),
                         {**shared, "task": "joint", "steps": joint_steps,
                          "lr": s.second_generator_learning_rate, **bos, **reads},
                         _needs_examples(s, "classification",
                                         _train(s, _joint_task(s), joint_steps,
                                                s.second_generator_learning_rate,
                                                init="sft_detailed"))))
    for generator in generators(s):
        out.append(Stage(f"test_{generator}", (generator,),
                         {**decode, "problems": s.test_problems, "samples": s.test_samples},
                         _sample(s, generator, "test", s.test_problems, s.test_samples)))
        out.append(_graded_stage(f"test_{generator}"))
    for loss in s.evaluator_losses:
        out.append(Stage(f"scores_{loss}", (f"evaluator_{loss}", "test_sft_detailed"),
                         score_settings(s, loss), score_stage(s, f"evaluator_{loss}", loss)))
    if s.step_evaluator_steps:
        out.append(Stage("scores_steps", ("evaluator_steps", "test_sft_detailed"),
                         score_settings(s, "steps"), score_stage(s, "evaluator_steps", "steps")))
    if s.verifier_steps:
        out.append(Stage("scores_verifier", ("evaluator_likelihood", "test_sft_detailed"),
                         score_settings(s, "likelihood"),
                         score_stage(s, "evaluator_likelihood", "likelihood")))
    if s.likelihood_baselines:
        out += [Stage("scores_likelihood", ("test_sft_detailed",), {"per_token": False},
                      _likelihood_scores(False)),
                Stage("scores_likelihood_per_token", ("test_sft_detailed",), {"per_token": True},
                      _likelihood_scores(True))]
    evaluation = {k: common[k] for k in ("pass_ks", "maj_ks", "rerank_k", "num_bootstrap",
                                         "curve_repeats", "seed")}
    eval_stages = []
    for label, samples, scores in rows(s):
        name = "eval_" + (scores or samples)
        if name in eval_stages:
            continue
        eval_stages.append(name)
        out.append(Stage(name, ("graded_" + samples,) + ((scores,) if scores else ()),
                         evaluation, _evaluate(s, samples, scores)))
    inputs = tuple(dict.fromkeys([st.name for st in out if st.name.startswith(
                                      ("test_", "graded_test_", "scores_", "eval_"))]
                                 + ["sft_detailed", "sft_terse", "train_samples",
                                    "graded_train_samples", EXAMPLES_STAGE]
                                 + [f"evaluator_{l}" for l in evaluator_losses]
                                 + (["evaluator_steps"] if s.step_evaluator_steps else [])
                                 + (["evaluator_likelihood"] if s.verifier_steps else [])
                                 + ["multitask", "control"]
                                 + (["joint"] if s.joint_mixture else [])))
    out.append(Stage("report", inputs, evaluation,
                     lambda folder, ins: report_fn(folder, ins, s, rows(s))))
    return out
