"""End to end on a toy task: SFT -> infer (train split) -> evaluator data -> evaluator training
-> infer (test split) -> score -> evaluate with RR metrics; score resume; and the multi-task
sequence killed during its evaluator stage and resumed there."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathft_jax import formats
from mathft_jax.decoding.sampling import Sampling
from mathft_jax.evaluation.graded import grade_file
from mathft_jax.evaluator.examples import write_examples
from mathft_jax.evaluator import tasks as evaluator_tasks
from mathft_jax.evaluator.losses import make_evaluator_loss
from mathft_jax.evaluator.objective import task_objective
from mathft_jax.recipe.runner import read_manifest
from mathft_jax.training import optimizers, trainer
from tests.evaluator import toy_task

REPO = Path(__file__).resolve().parents[1]


def _train(model_dir, task, steps, lr, **kw):
    built = optimizers.build_optimizer(steps, schedule={"peak_value": lr, "warmup_steps": 2})
    return trainer.train_loop(
        model_config=toy_task.MODEL, model_dir=str(model_dir), mixture_or_task_name=task,
        train_steps=steps, **built.train_loop_args(),
        batch_size=8, sequence_length=64, log_every=1000, checkpoint_every=1000, **kw)


def _infer(checkpoint, out, split, **kw):
    from mathft_jax.infer import infer
    return infer(model_config=toy_task.MODEL, checkpoint=str(checkpoint),
                 mixture_or_task_name=toy_task.TASK, output_file=str(out), split=split,
                 greedy=True, num_samples=6, sampling=Sampling(temperature=0.8),
                 max_new_tokens=12, batch_size=8, seed=0, show_progress=False, **kw)


@pytest.fixture(scope="module")
def sft(tmp_path_factory):
    """A generator trained briefly, and its samples on the training problems."""
    root = tmp_path_factory.mktemp("pipeline")
    _train(root / "sft", toy_task.TASK, 300, 1e-2)
    _infer(root / "sft", root / "train_candidates.jsonl", "train")
    return root


def _register(root, kind):
    """The task over the examples built from the training samples' grading, as the recipe's
    graded_train_samples and evaluator_examples stages build them."""
    candidates, graded, examples = (str(root / n) for n in ("train_candidates.jsonl",
                                                            "graded.jsonl", "examples.jsonl"))
    grade_file(candidates, graded)
    write_examples(candidates, graded, examples)
    return evaluator_tasks.register_evaluator_task(
        name=f"toy_evaluator_{kind}", examples_file=examples, kind=kind,
        like_task=toy_task.TASK, positive=toy_task.LABELS[0], negative=toy_task.LABELS[1],
        max_length=_max_length(kind))


def _max_length(kind):
    """The inputs a 64-token row holds (a classification row's label takes one slot)."""
    return 63 if kind == "classification" else 64


def test_train_score_evaluate_with_real_evaluator_scores(sft):
    name = _register(sft, "pair")
    _train(sft / "evaluator", name, 10, 1e-3, init_checkpoint=str(sft / "sft"),
           objective=task_objective(
               lambda cfg, task: make_evaluator_loss(cfg, task, "margin")))
    examples = str(sft / "examples.jsonl")
    assert formats.read_examples(examples, "pair") and formats.read_examples(
        examples, "classification")
    assert not list(sft.glob("*.examples.jsonl"))  # nothing written beside the candidates
    _infer(sft / "sft", sft / "test_candidates.jsonl", "test")
    from mathft_jax.score import score
    kw = dict(model_config=toy_task.MODEL, checkpoint=str(sft / "evaluator"),
              candidates_file=str(sft / "test_candidates.jsonl"), like_task=toy_task.TASK,
              positive=toy_task.LABELS[0], negative=toy_task.LABELS[1], batch_size=8,
              chunk_problems=3, show_progress=False, max_prompt_length=_max_length("pair"))
    summary = score(output_file=str(sft / "scores.jsonl"), **kw)
    assert summary["complete"] and summary["rows_total"] == 16 * 6
    # Killed after one chunk (a cut tail appended), then rerun: the same file.
    partial = sft / "scores_resumed.jsonl"
    score(output_file=str(partial), max_chunks=1, **kw)
    with open(partial, "a") as f:
        f.write('{"version": 1, "problem_id": "cut')
    score(output_file=str(partial), **kw)
    assert partial.read_bytes() == (sft / "scores.jsonl").read_bytes()
    scores, _ = formats.read_scores(str(sft / "scores.jsonl"))
    assert all(0.0 <= s <= 1.0 for s in scores.values()) and len(set(scores.values())) > 1

    from mathft_jax.evaluate import evaluate
    report = evaluate(candidates_file=str(sft / "test_candidates.jsonl"),
                      output_dir=str(sft / "eval"), scores_file=str(sft / "scores.jsonl"),
                      pass_ks=(1, 6), maj_ks=(2,), rerank_k=2, num_bootstrap=50,
                      curve_repeats=2)
    overall = report["groups"]["overall"] if "overall" in report["groups"] else report["groups"]
    text = json.dumps(overall)
    for metric in ("RR.All", "RR.Top2", "W.RR", "W.RR.Maj2"):
        assert metric in report["metrics"] and metric in text
    auc = report["evaluator_auc"]
    print("evaluator AUC on held-out problems:", auc)
    assert auc["candidates"] == 96 and 0 < auc["correct"] < 96


def _cut_off_candidates(path, split: str) -> None:
    """Per toy problem, two finished solutions (correct) and two cut off before the answer
    (graded incorrect: no answer), as a generator's length cut-offs are: a signal a tiny
    evaluator can learn, unlike the arithmetic itself."""
    rows = []
    for record in toy_task._records(split):
        a, b = record["problem"].split(" + ")
        c = record["answer"]
        texts = [f"\\boxed{{{c}}}", f"{a} + {b} = {c}, so \\boxed{{{c}}}", f"{a} + {b} =",
                 f"{a} +"]
        rows += [formats.candidate_row(
            problem_id=record["problem_id"], sample_index=k, decoding="sample", text=text,
            logprob=0.0, num_tokens=0, finish_reason="eos" if k < 2 else "length",
            checkpoint="toy", sampling={"name": "sample"}, gold_answer=c, level="",
            subject="", problem=record["problem"]) for k, text in enumerate(texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_trained_evaluator_ranks_held_out_candidates_by_what_it_learned(sft, tmp_path):
    """Evaluator data -> training -> scoring -> AUC keep their direction end to end: trained
    on the training problems' cut-off (wrong) vs finished (right) solutions, the evaluator
    ranks the held-out problems' finished solutions first. A label or score flipped anywhere
    in the chain puts the AUC below 0.5."""
    _cut_off_candidates(tmp_path / "train.jsonl", "train")
    _cut_off_candidates(tmp_path / "test.jsonl", "test")
    name = evaluator_tasks.register_evaluator_task(
        name="toy_evaluator_cut_off", candidates_file=str(tmp_path / "train.jsonl"),
        kind="classification", like_task=toy_task.TASK, positive=toy_task.LABELS[0],
        negative=toy_task.LABELS[1], max_length=_max_length("classification"))
    _train(tmp_path / "evaluator", name, 60, 3e-3, init_checkpoint=str(sft / "sft"),
           objective=task_objective(
               lambda cfg, task: make_evaluator_loss(cfg, task, "classification")))
    from mathft_jax.evaluate import evaluate
    from mathft_jax.score import score
    score(model_config=toy_task.MODEL, checkpoint=str(tmp_path / "evaluator"),
          candidates_file=str(tmp_path / "test.jsonl"), output_file=str(tmp_path / "s.jsonl"),
          like_task=toy_task.TASK, positive=toy_task.LABELS[0], negative=toy_task.LABELS[1],
          batch_size=16, show_progress=False, max_prompt_length=_max_length("classification"))
    auc = evaluate(candidates_file=str(tmp_path / "test.jsonl"),
                   output_dir=str(tmp_path / "eval"), scores_file=str(tmp_path / "s.jsonl"),
                   pass_ks=(1,), maj_ks=(2,), rerank_k=2, num_bootstrap=200,
                   curve_repeats=1)["evaluator_auc"]
    within = auc["within_problem"]
    print("held-out AUC, cut-off vs finished solutions:", auc["auc"], within)
    assert auc["correct"] == 32 and within["problems"] == 16
    assert within["ci95"][0] > 0.5 and auc["ci95"][0] > 0.5


def test_score_refuses_another_evaluator_in_the_same_file(sft, tmp_path):
    from mathft_jax.errors import ConfigError
    from mathft_jax.score import score
    candidates = sft / "train_candidates.jsonl"
    kw = dict(model_config=toy_task.MODEL, candidates_file=str(candidates),
              output_file=str(tmp_path / "s.jsonl"), like_task=toy_task.TASK,
              positive=toy_task.LABELS[0], negative=toy_task.LABELS[1], show_progress=False,
              max_chunks=1)
    score(checkpoint=str(sft / "sft"), **kw)
    with pytest.raises(ConfigError, match="checkpoint"):
        score(checkpoint="random_init", **kw)


SEQUENCE_GIN = """
import tests.evaluator.toy_task
import mathft_jax.evaluator.tasks
import mathft_jax.evaluator.losses
import mathft_jax.training.losses
MODEL_CONFIG = @ModelConfig()
ModelConfig.vocab_size = 259
ModelConfig.num_layers = 1
ModelConfig.embed_dim = 32
ModelConfig.mlp_dim = 64
ModelConfig.num_heads = 2
ModelConfig.num_kv_heads = 1
ModelConfig.head_dim = 16
ModelConfig.max_seq_len = 128
register_evaluator_task.name = 'toy_sequence_evaluator'
register_evaluator_task.candidates_file = %CANDIDATES
register_evaluator_task.kind = 'pair'
register_evaluator_task.like_task = 'mathft_test_toy_sums'
register_evaluator_task.positive = ' Y'
register_evaluator_task.negative = ' N'
register_evaluator_task.max_length = 64
make_evaluator_loss.loss = 'margin'
generator/Stage.name = 'generator'
generator/Stage.mixture_or_task_name = 'mathft_test_toy_sums'
generator/Stage.train_steps = 2
generator/Stage.learning_rate = 1e-3
evaluator/Stage.name = 'evaluator'
evaluator/Stage.mixture_or_task_name = @register_evaluator_task()
evaluator/Stage.train_steps = 120
evaluator/Stage.learning_rate = 1e-4
evaluator/Stage.loss_fn_factory = @make_evaluator_loss
again/Stage.name = 'generator_again'
again/Stage.mixture_or_task_name = 'mathft_test_toy_sums'
again/Stage.train_steps = 2
again/Stage.learning_rate = 1e-3
train_sequence.model_config = %MODEL_CONFIG
train_sequence.model_dir = %MODEL_DIR
train_sequence.stages = [@generator/Stage(), @evaluator/Stage(), @again/Stage()]
train_sequence.batch_size = 8
train_sequence.sequence_length = 64
train_sequence.checkpoint_every = 5
train_sequence.log_every = 1000
"""


def test_sequence_killed_in_evaluator_stage_resumes_there(sft, tmp_path):
    gin_file = tmp_path / "sequence.gin"
    gin_file.write_text(SEQUENCE_GIN)
    model_dir = tmp_path / "seq"
    cmd = [sys.executable, "-m", "mathft_jax.train_sequence", f"--gin_file={gin_file}",
           f"--gin.MODEL_DIR='{model_dir}'",
           f"--gin.CANDIDATES='{sft / 'train_candidates.jsonl'}'"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    evaluator_ckpts = model_dir / "1_evaluator" / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if evaluator_ckpts.is_dir() and any(p.name.isdigit() and int(p.name) >= 10
                                            for p in evaluator_ckpts.iterdir()):
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _complete(model_dir / "0_generator")
    assert not _complete(model_dir / "1_evaluator")
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "generator: done, skipped" in rerun.stdout
    assert "resuming from" in rerun.stdout and "1_evaluator" in rerun.stdout
    for stage in ("0_generator", "1_evaluator", "2_generator_again"):
        assert _complete(model_dir / stage)
        assert read_manifest(str(model_dir / stage))["outputs"]["steps"] > 0


def _complete(stage_dir) -> bool:
    return bool((read_manifest(str(stage_dir)) or {}).get("complete"))
