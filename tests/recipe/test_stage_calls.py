"""What each recipe stage asks of the library's tools (`recipe.paper`): every tool is replaced
by a recorder, so each stage's call is checked argument by argument without training,
sampling or scoring. Guards the direction of the chain: training samples come from the
train split of the detailed model, test samples from the test split of each generator, the
multi-task model starts from the evaluator's checkpoint and its control from SSFT, each
evaluator trains with its own loss and data, and scores and evaluations read the detailed
model's test samples.

Every setting has a distinct value, so a swapped field shows.
"""

import dataclasses
import json
import os

import pytest

# The tools the stages import when they run, imported here once (each is replaced below).
from mathft_jax import evaluate, formats, infer, score
from mathft_jax.decoding.sampling import Sampling
from mathft_jax.evaluator import likelihood, losses, tasks
from mathft_jax.recipe import paper
from mathft_jax.recipe.runner import MANIFEST, MANIFEST_VERSION
from mathft_jax.recipe.settings import RecipeSettings
from mathft_jax.training import trainer
from mathft_jax.training.losses import make_sft_loss
from tests.training.tiny_run import CONFIG

SETTINGS = RecipeSettings(
    model_config=CONFIG, sft_steps=30, terse_steps=12, sft_learning_rate=1e-3,
    warmup_steps=4, evaluator_steps=10, evaluator_learning_rate=2e-4,
    step_evaluator_steps=16, step_evaluator_learning_rate=5e-4, verifier_steps=18,
    verifier_learning_rate=6e-4, second_generator_steps=14,
    second_generator_learning_rate=3e-4, train_problems=20, train_samples=3,
    test_problems=25, test_samples=5, temperature=0.7, max_new_tokens=33, batch_size=2,
    sequence_length=64, decode_batch_size=6, score_batch_size=9, seed=11,
    init_checkpoint="/ckpt/start", keep_checkpoints=2, keep_optimizer_state=True,
    pass_ks=(1, 2), maj_ks=(2,), rerank_k=3, num_bootstrap=40, curve_repeats=2)


class _Result:
    preempted, step, train_metrics = False, 7, {"loss": 1.5}


@pytest.fixture
def calls(monkeypatch):
    """tool name -> the keyword arguments of each call, in order."""
    out: dict[str, list] = {}

    def recorder(name, result):
        def record(*args, **kw):
            out.setdefault(name, []).append({**dict(enumerate(args)), **kw})
            return result(kw) if callable(result) else result
        return record

    monkeypatch.setattr(trainer, "train_loop", recorder("train", lambda kw: _Result))
    monkeypatch.setattr(infer, "infer", recorder(
        "infer", {"generated_tokens": 5, "tokens_per_second": 2.0}))
    monkeypatch.setattr(score, "score", recorder("score", {"candidates_per_second": 3.0}))
    monkeypatch.setattr(evaluate, "evaluate", recorder("evaluate", None))
    monkeypatch.setattr(tasks, "register_evaluator_task",
                        recorder("task", lambda kw: kw["name"]))
    monkeypatch.setattr(tasks, "register_joint_mixture", recorder("joint", lambda kw: "J"))
    monkeypatch.setattr(likelihood, "write_likelihood_scores", recorder("likelihood", {"n": 1}))
    monkeypatch.setattr(losses, "make_evaluator_loss",
                        lambda cfg, task, loss: ("evaluator loss", loss))
    return out


@pytest.fixture
def run(tmp_path):
    """run(stage name) -> (its outputs, its folder, its input folders)."""
    stages = {st.name: st for st in paper.stages(SETTINGS, _report_fn)}
    train_samples = tmp_path / "train_samples"
    train_samples.mkdir()
    (train_samples / paper.CANDIDATES).write_text(_contrastive_candidates())

    def go(name):
        stage = stages[name]
        if paper.EXAMPLES_STAGE in stage.inputs:  # the real grading and examples, as finished
            for built in ("graded_train_samples", paper.EXAMPLES_STAGE):  # stages
                (tmp_path / built).mkdir(exist_ok=True)
                (tmp_path / built / MANIFEST).write_text(json.dumps({
                    "version": MANIFEST_VERSION, "fingerprint": "f", "complete": True,
                    "outputs": go(built)[0]}))
        inputs = {i: str(tmp_path / i) for i in stage.inputs}
        folder = str(tmp_path / name)
        return stage.run(folder, inputs), folder, inputs
    return go


def _report_fn(folder, inputs, settings, rows):
    return {"report_fn": (folder, sorted(inputs), settings, rows)}


def _contrastive_candidates() -> str:
    """One training problem with a right and a wrong sample: evaluator data exists."""
    rows = [formats.candidate_row(
        problem_id="p", sample_index=i, decoding="sample", text=f"\\boxed{{{answer}}}",
        logprob=-1.0, num_tokens=2, finish_reason="eos", checkpoint="c", sampling={},
        gold_answer="4", level="1", subject="s", problem="2 + 2") for i, answer in
        enumerate(("4", "5"))]
    return "".join(json.dumps(r) + "\n" for r in rows)


def _trained(calls, steps, lr, task, init):
    (kw,) = calls["train"]
    assert kw["mixture_or_task_name"] == task and kw["train_steps"] == steps
    assert kw["init_checkpoint"] == init
    assert kw["optimizer_settings"]["schedule"] == {
        "peak_value": lr, "decay": "cosine", "warmup_steps": min(4, steps // 2),
        "end_value_fraction": 0.1, "total_steps": steps}
    assert kw["optimizer_settings"]["optimizer"]["weight_decay"] == 0.01
    assert (kw["batch_size"], kw["sequence_length"], kw["seed"]) == (2, 64, 11)
    assert (kw["checkpoint_every"], kw["log_every"], kw["eval_every"]) == (
        max(steps // 3, 1), max(steps // 5, 1), 0)
    assert (kw["keep_checkpoints"], kw["final_optimizer_state"]) == (2, True)
    assert kw["async_checkpoints"] is True  # one stage at a time: Orbax saves in the background
    assert kw["summary_dir"] is None  # TensorBoard in the stage folder
    assert kw["model_config"] == CONFIG
    return kw


@pytest.mark.parametrize("name, steps, task", [
    ("sft_detailed", 30, "synthetic_sft"), ("sft_terse", 12, "synthetic_sft_terse")])
def test_ssft_stages_start_from_the_init_checkpoint(calls, run, name, steps, task):
    out, folder, _ = run(name)
    kw = _trained(calls, steps, 1e-3, task, "/ckpt/start")
    assert kw["model_dir"] == folder and kw["objective"].loss_fn_factory is make_sft_loss
    assert out == {"final_metrics": {"loss": 1.5}, "steps": 7}


def test_summary_dir_holds_each_training_stage_s_summaries_by_stage_name(calls, tmp_path):
    settings = dataclasses.replace(SETTINGS, summary_dir="/tb")
    stage = {st.name: st for st in paper.stages(settings, _report_fn)}["sft_terse"]
    stage.run(str(tmp_path / "sft_terse"), {})
    assert calls["train"][0]["summary_dir"] == "/tb/sft_terse"


@pytest.mark.parametrize("name, init", [("multitask", "evaluator_margin"),
                                        ("control", "sft_detailed")])
def test_multitask_starts_from_the_evaluator_and_its_control_from_ssft(calls, run, name,
                                                                       init):
    _, _, inputs = run(name)
    kw = _trained(calls, 14, 3e-4, "synthetic_sft", inputs[init])
    assert kw["objective"].loss_fn_factory is make_sft_loss


@pytest.mark.parametrize("name, kind, task, steps, lr, loss, max_length", [
    ("evaluator_margin", "pair", "recipe_evaluator_pair", 10, 2e-4, "margin", 64),
    ("evaluator_mixture", "pair", "recipe_evaluator_pair", 10, 2e-4, "mixture", 64),
    ("evaluator_classification", "classification", "recipe_evaluator_classification", 10,
     2e-4, "classification", 63),  # the label token takes the row's last slot
    ("evaluator_steps", "steps", "recipe_evaluator_steps", 16, 5e-4, "classification", 64),
    ("evaluator_likelihood", "tokens", "recipe_evaluator_tokens", 18, 6e-4, "likelihood",
     64)])
def test_evaluators_train_on_the_training_samples_with_their_own_loss(
        calls, run, name, kind, task, steps, lr, loss, max_length):
    out, _, inputs = run(name)
    (registered,) = calls["task"]
    assert registered == {
        "name": task, "kind": kind, "like_task": "synthetic_sft", "positive": " correct",
        "negative": " incorrect", "max_length": max_length, "bos_id": None,
        "examples_file": os.path.join(inputs[paper.EXAMPLES_STAGE], paper.EXAMPLES)}
    kw = _trained(calls, steps, lr, task, inputs["sft_detailed"])
    assert kw["objective"].loss_fn_factory(CONFIG, "t") == ("evaluator loss", loss)
    if kind in ("pair", "classification"):  # these report their balanced data
        assert out["data"]["contrastive"] == 1 and out["steps"] == 7


def test_joint_mixture_trains_both_tasks_from_ssft(calls, run):
    _, _, inputs = run("joint")
    assert calls["joint"] == [{"name": "recipe_joint", "generation_task": "synthetic_sft",
                               "evaluator_task": "recipe_joint_evaluator",
                               "evaluator_rate": 0.25}]
    assert calls["task"][0]["kind"] == "classification"
    _trained(calls, 24, 3e-4, "J", inputs["sft_detailed"])  # evaluator + generator steps


def test_evaluator_without_contrastive_data_is_skipped(calls, run, tmp_path):
    (tmp_path / "train_samples" / paper.CANDIDATES).write_text(
        _contrastive_candidates().splitlines()[0] + "\n")  # the right sample only
    out, _, _ = run("evaluator_margin")
    assert out["skipped"].startswith("no pair examples: evaluator data: 1 problems")
    assert out["data"]["all_correct"] == 1 and "train" not in calls


@pytest.mark.parametrize("name, split, generator, problems, samples", [
    ("train_samples", "train", "sft_detailed", 20, 3),
    ("test_sft_detailed", "test", "sft_detailed", 25, 5),
    ("test_sft_terse", "test", "sft_terse", 25, 5),
    ("test_multitask", "test", "multitask", 25, 5),
    ("test_control", "test", "control", 25, 5),
    ("test_joint", "test", "joint", 25, 5)])
def test_sampling_stages_read_their_split_and_generator(calls, run, name, split, generator,
                                                        problems, samples):
    out, folder, inputs = run(name)
    assert calls["infer"] == [{
        "model_config": CONFIG, "checkpoint": inputs[generator],
        "mixture_or_task_name": "synthetic_eval", "split": split,
        "output_file": os.path.join(folder, paper.CANDIDATES), "greedy": True,
        "num_samples": samples, "sampling": Sampling(temperature=0.7), "max_new_tokens": 33,
        "batch_size": 6, "max_problems": problems, "seed": 11, "prepend_bos": False}]
    assert out == {"generated_tokens": 5, "tokens_per_second": 2.0}


@pytest.mark.parametrize("name, evaluator, read, max_prompt", [
    ("scores_margin", "evaluator_margin", "final", 64),
    ("scores_classification", "evaluator_classification", "final", 63),
    ("scores_steps", "evaluator_steps", "steps", 64),
    ("scores_verifier", "evaluator_likelihood", "likelihood", 64)])
def test_scores_read_the_detailed_models_test_samples(calls, run, name, evaluator, read,
                                                      max_prompt):
    out, folder, inputs = run(name)
    assert calls["score"] == [{
        "model_config": CONFIG, "checkpoint": inputs[evaluator],
        "candidates_file": os.path.join(inputs["test_sft_detailed"], paper.CANDIDATES),
        "output_file": os.path.join(folder, paper.SCORES), "like_task": "synthetic_sft",
        "positive": " correct", "negative": " incorrect", "batch_size": 9,
        "prepend_bos": False, "read": read, "max_prompt_length": max_prompt}]
    assert out == {"candidates_per_second": 3.0}


@pytest.mark.parametrize("name, per_token", [("scores_likelihood", False),
                                             ("scores_likelihood_per_token", True)])
def test_likelihood_baselines(calls, run, name, per_token):
    out, folder, inputs = run(name)
    assert calls["likelihood"] == [{
        0: os.path.join(inputs["test_sft_detailed"], paper.CANDIDATES),
        1: os.path.join(folder, paper.SCORES), "per_token": per_token}]
    assert out == {"n": 1}


@pytest.mark.parametrize("name, samples, scores", [
    ("eval_test_sft_detailed", "test_sft_detailed", None),
    ("eval_test_multitask", "test_multitask", None),
    ("eval_scores_margin", "test_sft_detailed", "scores_margin"),
    ("eval_scores_likelihood_per_token", "test_sft_detailed", "scores_likelihood_per_token")])
def test_evaluations_pair_each_rows_samples_with_its_scores(calls, run, name, samples,
                                                            scores):
    out, folder, inputs = run(name)
    assert calls["evaluate"] == [{
        "graded_file": os.path.join(inputs["graded_" + samples], paper.GRADED),
        "output_dir": folder,
        "scores_file": os.path.join(inputs[scores], paper.SCORES) if scores else None,
        "pass_ks": (1, 2), "maj_ks": (2,), "rerank_k": 3, "num_bootstrap": 40,
        "curve_repeats": 2, "seed": 11}]
    assert out == {"report": os.path.join(folder, "report.json")}


def test_a_stage_whose_input_was_skipped_is_skipped_and_calls_nothing(calls, run, tmp_path,
                                                                       capsys):
    folder = tmp_path / "sft_terse"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({
        "version": MANIFEST_VERSION, "fingerprint": "f", "complete": True,
        "outputs": {"skipped": "no terse task"}}))
    out, _, _ = run("test_sft_terse")
    assert out == {"skipped": "sft_terse: no terse task"} and "infer" not in calls
    assert capsys.readouterr().out == "  skipped: sft_terse was skipped (no terse task)\n"


def test_a_preempted_training_stage_stops_the_recipe(calls, run, monkeypatch):
    monkeypatch.setattr(_Result, "preempted", True)
    with pytest.raises(SystemExit, match="preempted at step 7; rerun to continue"):
        run("control")


def test_report_gets_every_result_folder_and_the_rows(calls, run):
    out, folder, inputs = run("report")
    assert out["report_fn"] == (folder, sorted(inputs), SETTINGS, paper.rows(SETTINGS))
    stages = [st.name for st in paper.stages(SETTINGS, _report_fn)]
    report_inputs = next(st.inputs for st in paper.stages(SETTINGS, _report_fn)
                         if st.name == "report")
    assert sorted(report_inputs) == sorted(stages[:-1]) and stages[-1] == "report"


def test_rows_pair_each_label_with_its_samples_and_scores_stages():
    assert paper.rows(SETTINGS) == [
        ("SSFT detailed", "test_sft_detailed", None),
        ("SSFT terse", "test_sft_terse", None),
        ("SSFT detailed + classification evaluator", "test_sft_detailed",
         "scores_classification"),
        ("SSFT detailed + margin evaluator", "test_sft_detailed", "scores_margin"),
        ("SSFT detailed + mixture evaluator", "test_sft_detailed", "scores_mixture"),
        (paper.STEP_ROW, "test_sft_detailed", "scores_steps"),
        (paper.VERIFIER_ROW, "test_sft_detailed", "scores_verifier"),
        (paper.LIKELIHOOD_ROWS[0], "test_sft_detailed", "scores_likelihood"),
        (paper.LIKELIHOOD_ROWS[1], "test_sft_detailed", "scores_likelihood_per_token"),
        ("multi-task sequential", "test_multitask", None),
        ("extra-MLE-steps control", "test_control", None),
        ("joint mixture", "test_joint", None)]


def test_fingerprint_settings_of_each_kind_of_stage():
    """What each stage's fingerprint holds: the settings its work reads, under stable names
    (a renamed key would rerun every finished stage of an existing run)."""
    import dataclasses
    from mathft_jax.data.task_reads import task_identity
    stages = {st.name: st for st in paper.stages(SETTINGS, _report_fn)}
    reads = task_identity("synthetic_sft")
    shared = {"model_config": dataclasses.asdict(CONFIG), "batch_size": 2,
              "sequence_length": 64, "seed": 11, "warmup_steps": 4}
    decode = {"eval_task": "synthetic_eval", "temperature": 0.7, "max_new_tokens": 33,
              "decode_batch_size": 6, "seed": 11, "model_config": dataclasses.asdict(CONFIG),
              "eval_task_reads": task_identity("synthetic_eval")}
    words = [" correct", " incorrect"]
    expected = {
        "sft_detailed": {**shared, "task": "synthetic_sft", "steps": 30, "lr": 1e-3,
                         "init_checkpoint": "/ckpt/start", "task_reads": reads},
        "train_samples": {**decode, "problems": 20, "samples": 3},
        "evaluator_margin": {**shared, "loss": "margin", "steps": 10, "lr": 2e-4,
                             "task": "synthetic_sft", "label_words": words,
                             "task_reads": reads},
        "evaluator_steps": {**shared, "kind": "steps", "steps": 16, "lr": 5e-4,
                            "task": "synthetic_sft", "label_words": words,
                            "task_reads": reads},
        "evaluator_likelihood": {**shared, "kind": "tokens", "steps": 18, "lr": 6e-4,
                                 "task": "synthetic_sft", "task_reads": reads},
        "multitask": {**shared, "task": "synthetic_sft", "steps": 14, "lr": 3e-4,
                      "task_reads": reads},
        "joint": {**shared, "task": "joint", "steps": 24, "lr": 3e-4, "task_reads": reads},
        "test_joint": {**decode, "problems": 25, "samples": 5},
        "scores_margin": {"batch_size": 9, "label_words": words, "max_length": 64,
                          "task_reads": reads},
        "scores_classification": {"batch_size": 9, "label_words": words, "max_length": 63,
                                  "task_reads": reads},
        "scores_steps": {"batch_size": 9, "label_words": words, "read": "steps",
                         "max_length": 64, "task_reads": reads},
        "scores_verifier": {"batch_size": 9, "read": "likelihood", "max_length": 64,
                            "task_reads": reads},
        "scores_likelihood_per_token": {"per_token": True},
        "eval_scores_margin": {"pass_ks": (1, 2), "maj_ks": (2,), "rerank_k": 3,
                               "num_bootstrap": 40, "curve_repeats": 2, "seed": 11},
    }
    for name, settings in expected.items():
        assert dict(stages[name].settings) == settings, name
    assert stages["control"].settings == stages["multitask"].settings
    assert reads and decode["eval_task_reads"] and reads != decode["eval_task_reads"]


def test_a_short_stage_logs_and_checkpoints_every_step(calls, tmp_path):
    """3 steps: warm-up 1 (half the run at most), a checkpoint and a log line every step."""
    import dataclasses
    short = dataclasses.replace(SETTINGS, sft_steps=3)
    stage = next(st for st in paper.stages(short, _report_fn) if st.name == "sft_detailed")
    stage.run(str(tmp_path / "sft_detailed"), {})
    (kw,) = calls["train"]
    assert (kw["checkpoint_every"], kw["log_every"]) == (1, 1)
    assert kw["optimizer_settings"]["schedule"]["warmup_steps"] == 1


@pytest.mark.parametrize("bos_id", [0, 5, -1, None])
def test_evaluator_bos_is_the_generation_vocabularys(monkeypatch, bos_id):
    import dataclasses
    import types
    from mathft_jax.data import task_lookup
    from mathft_jax.errors import ConfigError
    vocabulary = types.SimpleNamespace(bos_id=bos_id)
    asked = []

    def get_task(name):
        asked.append(name)
        return types.SimpleNamespace(output_features={
            "targets": types.SimpleNamespace(vocabulary=vocabulary)})

    monkeypatch.setattr(task_lookup, "get_task", get_task)
    assert paper._bos_id(SETTINGS) is None and asked == []  # prepend_bos off: no lookup
    bos = dataclasses.replace(SETTINGS, prepend_bos=True)
    if bos_id is not None and bos_id >= 0:
        assert paper._bos_id(bos) == bos_id and asked == ["synthetic_sft"]
    else:
        with pytest.raises(ConfigError, match="RecipeSettings.prepend_bos = True but the "
                           "vocabulary of 'synthetic_sft' has no BOS id"):
            paper._bos_id(bos)


@pytest.mark.parametrize("kind, task_kind, contrastive", [
    ("margin", "pair", True), ("classification", "classification", True),
    ("margin", "pair", False)])
def test_an_evaluator_on_another_stages_candidates_builds_its_examples_from_them(
        calls, tmp_path, kind, task_kind, contrastive):
    """The scaling study's evaluators (`evaluator_stage(..., samples=<subset stage>)`): the
    task reads that stage's candidates with the recipe's seed, and the skip is decided there."""
    subset = tmp_path / "subset_a"
    subset.mkdir()
    text = _contrastive_candidates()
    (subset / paper.CANDIDATES).write_text(text if contrastive else text.splitlines()[0] + "\n")
    inputs = {"sft_detailed": str(tmp_path / "sft_detailed"), "subset_a": str(subset)}
    stage = paper.evaluator_stage(SETTINGS, kind, 5, samples="subset_a", tag="_a")
    out = stage(str(tmp_path / "evaluator_a"), inputs)
    if not contrastive:
        assert out["skipped"].startswith(f"no {task_kind} examples: evaluator data: 1 problems")
        assert "train" not in calls
        return
    (registered,) = calls["task"]
    assert registered["name"] == f"recipe_evaluator_{task_kind}_a"
    assert registered["candidates_file"] == str(subset / paper.CANDIDATES)
    assert registered["seed"] == 11 and "examples_file" not in registered
    _trained(calls, 5, 2e-4, f"recipe_evaluator_{task_kind}_a", inputs["sft_detailed"])
    assert out["data"]["contrastive"] == 1 and out["steps"] == 7


def test_the_terse_stage_without_a_terse_task_says_why(capsys):
    from mathft_jax.recipe import paper
    assert paper._no_terse_task("folder", {}) == {
        "skipped": "no terse task (terse_task = None)"}
    assert capsys.readouterr().out == "  skipped: no terse task (terse_task = None)\n"
