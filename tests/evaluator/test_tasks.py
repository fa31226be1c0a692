"""Evaluator tasks by hand on the byte vocabulary (token = byte + 3): the rows of every kind,
their cuts, lengths and features, where the examples come from, and every refusal.

Template "Q:{problem}\\nA:{solution}", label words " Y" / " N": the shared space (35) is the
label prefix, "Y" (92) the positive and "N" (81) the negative token.
"""

import types

import gin
import pytest
import seqio

from mathft_jax import formats
from mathft_jax.data import prompts, task_factory
from mathft_jax.data.task_lookup import get_task
from mathft_jax.data.task_reads import task_identity
from mathft_jax.errors import ConfigError
from mathft_jax.evaluator import examples as examples_lib
from mathft_jax.evaluator import tasks
from tests.evaluator import toy_task

TEMPLATE = "Q:{problem}\nA:{solution}"
SPACE, YES, NO, BOS = 35, 92, 81, 2
# A right step then a wrong one: steps end at characters 11 and 29 of the solution.
TWO_STEPS = "$1 + 1 = 2$, then $2 + 2 = 5$. So \\boxed{5}."
ONE_STEP = "$1 + 1 = 2$. So \\boxed{2}."


def ids(text):
    return [b + 3 for b in text.encode()]


def _register(name, kind="classification", **kw):
    settings = dict(like_task=toy_task.TASK, template=TEMPLATE, positive=" Y", negative=" N",
                    max_length=32)
    return tasks.register_evaluator_task(name=name, kind=kind, **{**settings, **kw})


def _rows(name, lengths):
    ds = get_task(name).get_dataset(lengths, split="train", shuffle=False)
    return [{k: v.tolist() for k, v in ex.items()} for ex in ds.as_numpy_iterator()]


@pytest.fixture()
def examples_file(tmp_path):
    path = tmp_path / "examples.jsonl"
    path.write_bytes(formats.to_jsonl([
        formats.classification_example("p1", " 1+1 ", " 2 ", True),
        formats.classification_example("p1", "1+1", "3", False),
        formats.pair_example("p1", "1+1", "2", "3"),
        formats.solution_example("p1", "1+1", TWO_STEPS, False),
        formats.solution_example("p1", "1+1", ONE_STEP, True)]))
    return str(path)


def _candidate(problem_id, index, text, gold="2", decoding="sample"):
    return formats.candidate_row(
        problem_id=problem_id, sample_index=index, decoding=decoding, text=text, logprob=-1.0,
        num_tokens=1, finish_reason="eos", checkpoint="c", sampling={"name": decoding},
        gold_answer=gold, level="", subject="", problem="1+1")


@pytest.fixture()
def candidates_file(tmp_path):
    """Problem a: two right texts and one wrong; problem b: one right text only."""
    path = tmp_path / "candidates.jsonl"
    rows = [_candidate("a", 0, "\\boxed{2}"), _candidate("a", 1, "So \\boxed{2}."),
            _candidate("a", 2, "\\boxed{3}"), _candidate("b", 0, "\\boxed{2}"),
            _candidate("a", 0, "\\boxed{7}", decoding="greedy")]
    path.write_bytes(formats.to_jsonl(rows))
    return str(path), rows


def test_classification_rows_by_hand(examples_file, capsys):
    name = _register("tasks_test_cls", examples_file=examples_file, max_length=12)
    assert tasks.feature_lengths(name, 13, None) == {"inputs": 12, "targets": 1}
    prompt = ids("Q:1+1\nA:")
    assert _rows(name, {"inputs": 12, "targets": 1}) == [
        {"inputs": prompt + ids("2") + [SPACE], "targets": [YES]},
        {"inputs": prompt + ids("3") + [SPACE], "targets": [NO]}]
    assert capsys.readouterr().out == f"{name}: 2 classification examples in {examples_file}\n"
    task = get_task(name)
    assert list(task.output_features) == ["inputs", "targets"]
    for feature in task.output_features.values():
        assert feature.vocabulary is toy_task.VOCAB
        assert feature.add_eos is False and feature.required is True


def test_a_shorter_feature_keeps_bos_the_prompts_end_and_the_prefix(examples_file):
    """Inputs of 6 with BOS: [BOS] + the last 4 prompt tokens ("\\nA:2") + the prefix, as
    `build_input` builds at length 6; at 3 one prompt token is left, at 2 none (refused)."""
    name = _register("tasks_test_cut", examples_file=examples_file, bos_id=BOS)
    assert _rows(name, {"inputs": 6, "targets": 1})[0] == {
        "inputs": [BOS, 13, 68, 61, 53, SPACE], "targets": [YES]}
    assert _rows(name, {"inputs": 3, "targets": 1})[1]["inputs"] == [BOS, 54, SPACE]
    # Long enough: nothing is cut (12 = BOS + 10 prompt tokens + prefix).
    assert _rows(name, {"inputs": 12, "targets": 1})[0]["inputs"] == [BOS] + ids(
        "Q:1+1\nA:2") + [SPACE]
    with pytest.raises(ConfigError, match=r"^evaluator task feature 'inputs' of length 2 "
                       r"leaves no room for a prompt after 1 BOS and 1 label-prefix tokens$"):
        _rows(name, {"inputs": 2, "targets": 1})
    # Without BOS the same length keeps one prompt token more.
    plain = _register("tasks_test_cut_plain", examples_file=examples_file)
    assert _rows(plain, {"inputs": 3, "targets": 1})[0]["inputs"] == [61, 53, SPACE]
    assert _rows(plain, {"inputs": 2, "targets": 1})[0]["inputs"] == [53, SPACE]


def test_pair_rows_by_hand(examples_file, capsys):
    name = _register("tasks_test_pair", "pair", examples_file=examples_file, bos_id=BOS)
    assert tasks.feature_lengths(name, 32, None) == {"chosen": 32, "rejected": 32}
    prompt = [BOS] + ids("Q:1+1\nA:")
    assert _rows(name, {"chosen": 32, "rejected": 32}) == [
        {"chosen": prompt + ids("2") + [SPACE], "rejected": prompt + ids("3") + [SPACE]}]
    assert capsys.readouterr().out == f"{name}: 1 pair examples in {examples_file}\n"
    # Each half is cut on its own, as the builder cuts.
    assert _rows(name, {"chosen": 4, "rejected": 3}) == [
        {"chosen": [BOS, 61, 53, SPACE], "rejected": [BOS, 54, SPACE]}]
    with pytest.raises(ConfigError, match="feature 'rejected' of length 2"):
        _rows(name, {"chosen": 4, "rejected": 2})
    assert list(get_task(name).output_features) == ["chosen", "rejected"]


def _read(row):
    return {i: t for i, t in enumerate(row["read_targets"]) if t}


def test_step_rows_by_hand(examples_file, capsys):
    """The prompt "Q:1+1\\nA:" is 8 tokens, so a step ending at character c of the solution
    is read at slot 8 + c - 1; the outcome at the last slot (the label prefix)."""
    name = _register("tasks_test_steps", "steps", examples_file=examples_file, max_length=64)
    assert tasks.feature_lengths(name, 64, None) == {"tokens": 64, "read_targets": 64}
    assert tasks.evaluator_info(name).template == TEMPLATE
    two, one = _rows(name, {"tokens": 64, "read_targets": 64})
    assert two["tokens"] == ids("Q:1+1\nA:" + TWO_STEPS) + [SPACE]
    assert _read(two) == {18: YES, 36: NO, 52: NO}
    assert one["tokens"] == ids("Q:1+1\nA:" + ONE_STEP) + [SPACE]
    assert _read(one) == {18: YES, 34: YES}
    assert capsys.readouterr().out == (f"{name}: 2 solutions in {examples_file} with 3 checked "
                                       "steps (1 wrong)\n")
    assert set(get_task(name).output_features) == {"tokens", "read_targets"}
    # Cut to 34 tokens (19 from the front of the first): its first step's slot is gone, its
    # label too; the second loses one token.
    cut = _register("tasks_test_steps_cut", "steps", examples_file=examples_file,
                    max_length=34)
    two, one = _rows(cut, {"tokens": 64, "read_targets": 64})
    assert two["tokens"] == ids("Q:1+1\nA:" + TWO_STEPS)[19:] + [SPACE]
    assert _read(two) == {17: NO, 33: NO}
    assert one["tokens"] == ids("Q:1+1\nA:" + ONE_STEP)[1:] + [SPACE]
    assert _read(one) == {17: YES, 33: YES}


def test_token_rows_by_hand(examples_file):
    """Kind "tokens" reads the generator's prompt (its default template), then the solution;
    a wrong solution weighs its results (1 right, -1 the first wrong), a right one every
    solution token."""
    name = tasks.register_evaluator_task(name="tasks_test_tokens", kind="tokens",
                                         like_task=toy_task.TASK, examples_file=examples_file,
                                         positive=" Y", negative=" N", max_length=128)
    assert tasks.evaluator_info(name).template == prompts.GENERATOR_TEMPLATE
    assert tasks.feature_lengths(name, 128, None) == {"tokens": 128, "token_weights": 128}
    prompt = ids("Problem:\n1+1\n\nSolution:\n")
    assert len(prompt) == 24
    two, one = _rows(name, {"tokens": 128, "token_weights": 128})
    assert two["tokens"] == prompt + ids(TWO_STEPS)
    weights = [0] * len(two["tokens"])
    weights[24 + 9:24 + 11] = [1, 1]  # "2$"
    weights[24 + 27:24 + 29] = [-1, -1]  # "5$"
    assert two["token_weights"] == weights
    assert one["tokens"] == prompt + ids(ONE_STEP)
    assert one["token_weights"] == [0] * 24 + [1] * len(ONE_STEP)
    assert set(get_task(name).output_features) == {"tokens", "token_weights"}
    # A template named explicitly is kept; with BOS the row starts with it.
    named = tasks.register_evaluator_task(
        name="tasks_test_tokens_named", kind="tokens", like_task=toy_task.TASK,
        examples_file=examples_file, template=TEMPLATE, positive=" Y", negative=" N",
        max_length=128, bos_id=BOS)
    assert _rows(named, {"tokens": 128, "token_weights": 128})[1]["tokens"] == [BOS] + ids(
        "Q:1+1\nA:" + ONE_STEP)


def test_examples_built_from_candidates_use_the_task_settings(candidates_file, capsys):
    """max_per_problem 2 keeps one text per side; one_sided "keep" adds problem b's right
    text; the seed picks which of problem a's two right texts is kept; greedy rows are
    ignored."""
    path, rows = candidates_file
    prompt = ids("Q:1+1\nA:")
    picked = {}
    for seed in (0, 1, 2, 3):
        name = _register(f"tasks_test_build_{seed}", candidates_file=path, max_per_problem=2,
                         one_sided="keep", seed=seed)
        got = _rows(name, {"inputs": 32, "targets": 1})
        examples, summary = examples_lib.build_examples(rows, max_per_problem=2,
                                                        one_sided="keep", seed=seed)
        assert capsys.readouterr().out == f"{name}: {examples_lib.format_summary(summary)}\n"
        assert got == [{"inputs": prompt + ids(e["solution"].strip()) + [SPACE],
                        "targets": [YES if e["label"] else NO]}
                       for e in examples if e["kind"] == "classification"]
        assert [r["targets"] for r in got] == [[YES], [NO], [YES]]
        picked[seed] = got[0]["inputs"]
    assert len(set(map(tuple, picked.values()))) == 2
    # The defaults: one-sided problems skipped, so b gives nothing.
    name = _register("tasks_test_build_default", candidates_file=path)
    assert [r["targets"] for r in _rows(name, {"inputs": 32, "targets": 1})] == [[YES], [NO]]


def test_step_rows_from_candidates(candidates_file, capsys):
    path, rows = candidates_file
    name = _register("tasks_test_steps_candidates", "steps", candidates_file=path)
    got = _rows(name, {"tokens": 32, "read_targets": 32})
    examples, summary = examples_lib.build_step_examples(rows)
    assert capsys.readouterr().out == f"{name}: {examples_lib.format_step_summary(summary)}\n"
    assert [r["tokens"] for r in got] == [ids("Q:1+1\nA:" + e["solution"].strip()) + [SPACE]
                                          for e in examples]
    assert [_read(r) for r in got] == [{len(r["tokens"]) - 1: YES if e["label"] else NO}
                                       for r, e in zip(got, examples)]
    assert [e["label"] for e in examples] == [True, True, False, True]


def test_missing_files_and_empty_examples_are_refused_by_name(tmp_path, examples_file):
    missing = str(tmp_path / "nope.jsonl")
    name = _register("tasks_test_missing_candidates", candidates_file=missing)
    with pytest.raises(ConfigError, match=(
            rf"^evaluator task 'tasks_test_missing_candidates': candidates file {missing} does "
            r"not exist \(sample the training problems with infer first\)$")):
        _rows(name, {"inputs": 32, "targets": 1})
    name = _register("tasks_test_missing_examples", "steps", examples_file=missing)
    with pytest.raises(ConfigError, match=(
            rf"^evaluator task 'tasks_test_missing_examples': examples file {missing} does not "
            r"exist \(write it with examples.write_examples: the recipe's evaluator_examples "
            r"stage\)$")):
        _rows(name, {"tokens": 32, "read_targets": 32})
    pairs_only = tmp_path / "pairs.jsonl"
    pairs_only.write_bytes(formats.to_jsonl([formats.pair_example("p", "1+1", "2", "3")]))
    name = _register("tasks_test_empty", examples_file=str(pairs_only))
    with pytest.raises(ConfigError, match=(
            rf"^evaluator task 'tasks_test_empty': {pairs_only} gives no classification "
            rf"examples \(0 classification examples in {pairs_only}\)$")):
        _rows(name, {"inputs": 32, "targets": 1})
    name = _register("tasks_test_no_solutions", "tokens", examples_file=str(pairs_only))
    with pytest.raises(ConfigError, match="gives no step examples"):
        _rows(name, {"tokens": 32, "token_weights": 32})


@pytest.mark.parametrize("missing, message", [
    (dict(name=""), "register_evaluator_task needs name (bind "
     "mathft_jax.evaluator.register_evaluator_task.name in gin)"),
    (dict(like_task=None), "register_evaluator_task needs like_task (bind "
     "mathft_jax.evaluator.register_evaluator_task.like_task in gin)"),
    (dict(examples_file=None), "register_evaluator_task needs candidates_file (bind "
     "mathft_jax.evaluator.register_evaluator_task.candidates_file in gin)"),
    (dict(candidates_file="c.jsonl"), "register_evaluator_task takes candidates_file or "
     "examples_file, not both"),
    (dict(kind="steps "), "register_evaluator_task.kind must be one of ('classification', "
     "'pair', 'steps', 'tokens'), got 'steps '"),
])
def test_registration_refuses_incomplete_settings(examples_file, missing, message):
    settings = dict(name="tasks_test_refused", like_task=toy_task.TASK,
                    examples_file=examples_file)
    with pytest.raises(ConfigError) as error:
        tasks.register_evaluator_task(**{**settings, **missing})
    assert str(error.value).splitlines()[0] == message  # gin adds a line naming the call
    assert "tasks_test_refused" not in seqio.TaskRegistry.names()


def test_unusable_label_words_are_refused_at_registration(examples_file):
    with pytest.raises(ConfigError, match="label word ' Yes' is 3 tokens"):
        _register("tasks_test_words", examples_file=examples_file, positive=" Yes",
                  negative=" No")
    assert "tasks_test_words" not in seqio.TaskRegistry.names()


def test_registering_again_replaces_only_a_changed_task(examples_file):
    name = _register("tasks_test_again", examples_file=examples_file)
    first = get_task(name)
    assert _register("tasks_test_again", examples_file=examples_file) == name
    assert get_task(name) is first
    _register("tasks_test_again", examples_file=examples_file, max_length=20)
    assert get_task(name) is not first and tasks.evaluator_info(name).max_length == 20
    assert task_identity(name)["options"] == {
        "candidates_file": None, "examples_file": examples_file, "kind": "classification",
        "like_task": task_identity(toy_task.TASK), "template": TEMPLATE, "positive": " Y",
        "negative": " N", "max_per_problem": 10, "one_sided": "skip", "seed": 0,
        "max_length": 20, "bos_id": None}
    assert list(task_identity(name)["files"]) == [examples_file]
    # Another generation task (the same vocabulary) is another task.
    like = "mathft_test_tasks_like"
    task_factory.register_records_task(like, lambda split: [], ["train"], toy_task.VOCAB,
                                       replace=True)
    before = get_task(name)
    _register("tasks_test_again", examples_file=examples_file, max_length=20, like_task=like)
    assert get_task(name) is not before
    assert task_identity(name)["options"]["like_task"] == task_identity(like)


def test_evaluator_info_by_task_and_by_mixture(examples_file):
    name = _register("tasks_test_info", examples_file=examples_file, bos_id=BOS,
                     max_length=20)
    info = tasks.evaluator_info(name)
    assert info == tasks.EvaluatorTaskInfo("classification", TEMPLATE, " Y", " N",
                                           toy_task.VOCAB, 20, BOS)
    assert tasks.evaluator_info(toy_task.TASK) is None
    assert tasks.evaluator_info_of(get_task(name)) is info
    pair = _register("tasks_test_info_pair", "pair", examples_file=examples_file)
    generator = get_task(toy_task.TASK)
    mixture = types.SimpleNamespace(name="m", tasks=[generator, get_task(pair),
                                                     get_task(name)])
    assert tasks.evaluator_info_of(mixture) is tasks.evaluator_info(pair)
    with pytest.raises(ConfigError, match=(
            rf"^'{toy_task.TASK}' has no evaluator task \(register one with "
            r"register_evaluator_task\); the evaluator losses need its label words$")):
        tasks.evaluator_info_of(generator)
    other = _register("tasks_test_info_other", examples_file=examples_file, positive=" N",
                      negative=" Y")
    with pytest.raises(ConfigError) as error:
        tasks.evaluator_info_of(types.SimpleNamespace(name="m", tasks=[get_task(name),
                                                                       get_task(other)]))
    assert str(error.value) == (
        "'m' mixes evaluator tasks with different label words or templates: "
        f"{sorted({(' Y', ' N', TEMPLATE), (' N', ' Y', TEMPLATE)})}")


@pytest.mark.parametrize("kind, names", [("pair", ("chosen", "rejected")),
                                         ("steps", ("tokens", "read_targets")),
                                         ("tokens", ("tokens", "token_weights"))])
def test_row_lengths_must_hold_max_length(examples_file, kind, names):
    name = _register(f"tasks_test_room_{kind}", kind, examples_file=examples_file,
                     max_length=20)
    assert tasks.feature_lengths(name, 20, None) == dict.fromkeys(names, 20)
    assert tasks.feature_lengths(name, 20, 5) == dict.fromkeys(names, 20)
    with pytest.raises(ConfigError) as error:
        tasks.feature_lengths(name, 19, None)
    assert str(error.value) == (
        f"evaluator task {name!r} ({kind}) builds inputs of up to max_length=20 tokens, but "
        "rows of sequence_length=19 hold 19: bind register_evaluator_task.max_length = 19 and "
        "score with max_prompt_length = 19, or train with longer rows")


def test_classification_lengths_leave_the_label_slot(examples_file):
    name = _register("tasks_test_room_cls", examples_file=examples_file, max_length=20)
    assert tasks.feature_lengths(toy_task.TASK, 20, None) is None
    assert tasks.feature_lengths(name, 21, None) == {"inputs": 20, "targets": 1}
    assert tasks.feature_lengths(name, 30, 20) == {"inputs": 20, "targets": 10}
    with pytest.raises(ConfigError) as error:
        tasks.feature_lengths(name, 20, None)
    assert str(error.value) == (
        f"evaluator task {name!r} (classification) builds inputs of up to max_length=20 "
        "tokens, but rows of sequence_length=20 hold 19 (the label token takes the last "
        "slot): bind register_evaluator_task.max_length = 19 and score with "
        "max_prompt_length = 19, or train with longer rows")
    with pytest.raises(ConfigError, match="hold 19 "):
        tasks.feature_lengths(name, 30, 19)


def test_the_joint_mixture(examples_file):
    evaluator = _register("tasks_test_joint_cls", examples_file=examples_file)
    name = tasks.register_joint_mixture(name="tasks_test_joint", generation_task=toy_task.TASK,
                                        evaluator_task=evaluator, generation_rate=3.0,
                                        evaluator_rate=0.5)
    assert name == "tasks_test_joint"
    mixture = seqio.get_mixture_or_task(name)
    assert {t.name: mixture.get_rate(t) for t in mixture.tasks} == {toy_task.TASK: 3.0,
                                                                    evaluator: 0.5}
    again = tasks.register_joint_mixture(name=name, generation_task=toy_task.TASK,
                                         evaluator_task=evaluator)
    assert {t.name: seqio.get_mixture_or_task(again).get_rate(t)
            for t in seqio.get_mixture_or_task(again).tasks} == {toy_task.TASK: 1.0,
                                                                 evaluator: 1.0}
    pair = _register("tasks_test_joint_pair", "pair", examples_file=examples_file)
    for task in (pair, toy_task.TASK):
        with pytest.raises(ConfigError) as error:
            tasks.register_joint_mixture(name="tasks_test_joint_bad",
                                         generation_task=toy_task.TASK, evaluator_task=task)
        assert str(error.value).splitlines()[0] == (
            f"register_joint_mixture: {task!r} is not a classification evaluator task "
            "(register_evaluator_task with kind='classification')")
    for label in ("name", "generation_task", "evaluator_task"):
        settings = dict(name="tasks_test_joint_bad", generation_task=toy_task.TASK,
                        evaluator_task=evaluator)
        with pytest.raises(ConfigError) as error:
            tasks.register_joint_mixture(**{**settings, label: ""})
        assert str(error.value).splitlines()[0] == f"register_joint_mixture needs {label}"
    assert "tasks_test_joint_bad" not in seqio.MixtureRegistry.names()


def test_gin_binds_both_registrations(examples_file):
    """The joint mixture as `gin_configs/experiments/synthetic_joint.gin` binds it."""
    gin.parse_config([
        "joint/mathft_jax.evaluator.register_evaluator_task.name = 'tasks_test_gin_cls'",
        f"joint/mathft_jax.evaluator.register_evaluator_task.examples_file = '{examples_file}'",
        f"joint/mathft_jax.evaluator.register_evaluator_task.like_task = '{toy_task.TASK}'",
        "joint/mathft_jax.evaluator.register_evaluator_task.positive = ' Y'",
        "joint/mathft_jax.evaluator.register_evaluator_task.negative = ' N'",
        "mathft_jax.evaluator.register_joint_mixture.name = 'tasks_test_gin_joint'",
        f"mathft_jax.evaluator.register_joint_mixture.generation_task = '{toy_task.TASK}'",
        "mathft_jax.evaluator.register_joint_mixture.evaluator_task = "
        "@joint/mathft_jax.evaluator.register_evaluator_task()"])
    try:  # the configurable gin hands a reference to, with the bindings above
        joint = gin.get_configurable("mathft_jax.evaluator.register_joint_mixture")
        assert joint() == "tasks_test_gin_joint"
    finally:
        gin.clear_config()
    mixture = seqio.get_mixture_or_task("tasks_test_gin_joint")
    assert sorted(t.name for t in mixture.tasks) == sorted([toy_task.TASK, "tasks_test_gin_cls"])
    assert tasks.evaluator_info("tasks_test_gin_cls").positive == " Y"
