import gin
import pytest
import seqio

import tasks  # noqa: F401  (registers the tasks)
from mathft_jax import gin_utils
from mathft_jax.data import task_options
from tests.tasks.conftest import check_prefix_lm_batches

LENGTHS = {"inputs": 64, "targets": 96}
NAMES = ["synthetic_sft", "synthetic_sft_terse", "synthetic_sft_corrupted", "synthetic_eval"]


@pytest.mark.parametrize("name", NAMES)
def test_task_batches_and_passthrough(name):
    ex = check_prefix_lm_batches(name, "test", LENGTHS)
    assert ex["problem_id"].numpy().decode() == "synthetic/test/000000"
    for key in ("answer", "level", "subject", "inputs_pretokenized", "targets_pretokenized"):
        assert ex[key].numpy()
    assert ex["inputs_pretokenized"].numpy().decode().endswith("\n\nSolution:\n")


def test_short_sequences_in_its_vocabulary():
    """Problem + detailed solution fit the CPU budget: ~120-170 tokens on average over all
    levels (one step per arithmetic operation), never over 256."""
    task = seqio.get_mixture_or_task("synthetic_sft")
    lengths = [len(ex["inputs"]) + len(ex["targets"]) for ex in
               task.get_dataset({"inputs": 256, "targets": 256}, split="validation",
                                shuffle=False).take(200)]
    mean = sum(lengths) / len(lengths)
    assert 100 <= mean <= 180, mean
    assert max(lengths) <= 256


def test_corrupted_variant_only_corrupts_train():
    task_options.set_current(task_options.TaskOptions(
        synthetic=task_options.SyntheticTaskOptions(corruption_rate=0.25)))
    clean = tasks.synthetic_tasks.synthetic_records("train")[:2000]
    noisy = tasks.synthetic_tasks.synthetic_records("train", corrupt=True)[:2000]
    changed = sum(a["targets"] != b["targets"] for a, b in zip(clean, noisy))
    assert 0.18 * 2000 < changed < 0.32 * 2000
    assert [a["answer"] for a in clean] == [b["answer"] for b in noisy]  # gold stays gold
    assert tasks.synthetic_tasks.synthetic_records("test") == \
        tasks.synthetic_tasks.synthetic_records("test", corrupt=True)


def test_styles_mixture_yields_converted_batches():
    mix = seqio.get_mixture_or_task("synthetic_sft_styles")
    ds = mix.get_dataset(LENGTHS, split="train", shuffle=True, seed=0)
    converter = seqio.DecoderFeatureConverter(pack=True, use_custom_packing_ops=False)
    ex = next(iter(converter(ds, LENGTHS)))
    assert ex["decoder_loss_weights"].numpy().sum() > 0


def test_levels_option():
    everything = tasks.synthetic_tasks.synthetic_records("validation")
    assert {r["level"] for r in everything} == {f"Level {k}" for k in range(1, 6)}
    with task_options.replaced(synthetic=task_options.SyntheticTaskOptions(levels=(1, 2))):
        rows = tasks.synthetic_tasks.synthetic_records("validation")
        assert {r["level"] for r in rows} == {"Level 1", "Level 2"}
        # The task serves the records of the options current when it is read.
        served = seqio.get_mixture_or_task("synthetic_sft").source.records("validation")
        assert {r["level"] for r in served} == {"Level 1", "Level 2"}
    served = seqio.get_mixture_or_task("synthetic_sft").source.records("validation")
    assert len({r["level"] for r in served}) == 5
    with pytest.raises(ValueError, match="levels"):
        task_options.SyntheticTaskOptions(levels=(6,))


def test_the_gin_binding_reaches_the_tasks_through_the_edge():
    """`tasks.synthetic_task_options.levels` in a gin file: the entry point's edge reads it;
    the tasks themselves read no gin."""
    gin.clear_config()
    try:
        gin.parse_config(["tasks.synthetic_task_options.levels = (2,)"])
        rows = tasks.synthetic_tasks.synthetic_records("validation")
        assert len({r["level"] for r in rows}) == 5  # not installed yet: the defaults
        gin_utils.use_task_options_from_gin()
        rows = tasks.synthetic_tasks.synthetic_records("validation")
        assert {r["level"] for r in rows} == {"Level 2"}
    finally:
        gin.clear_config()
