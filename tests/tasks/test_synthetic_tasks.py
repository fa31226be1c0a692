import gin
import pytest
import seqio

import tasks  # noqa: F401  (registers the tasks)
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
    with gin.unlock_config():
        gin.bind_parameter("tasks.synthetic_task_options.corruption_rate", 0.25)
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
    with gin.unlock_config():
        gin.bind_parameter("tasks.synthetic_task_options.levels", (1, 2))
    try:
        rows = tasks.synthetic_tasks.synthetic_records("validation")
        assert {r["level"] for r in rows} == {"Level 1", "Level 2"}
        with gin.unlock_config():
            gin.bind_parameter("tasks.synthetic_task_options.levels", (6,))
        with pytest.raises(ValueError, match="levels"):
            tasks.synthetic_tasks.synthetic_records("validation")
    finally:
        with gin.unlock_config():
            gin.bind_parameter("tasks.synthetic_task_options.levels", (1, 2, 3, 4, 5))
