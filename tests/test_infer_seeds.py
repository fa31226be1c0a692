"""infer's `seed`: the same seed writes the same samples, another seed other samples (and
the same greedy rows). On test_infer.py's tiny random model and task, 4 problems."""

import functools
import json

import pytest

from tests.kit import INFER_SETTINGS as SETTINGS  # registers the task


@pytest.fixture(autouse=True)
def _random_init_once(monkeypatch):
    """The random-init parameters (key 0, whatever the seed) are built and compiled once."""
    from mathft_jax import infer
    monkeypatch.setattr(infer, "load_params", functools.lru_cache(infer.load_params))


def _rows(tmp_path, seed):
    from mathft_jax.infer import infer
    out = tmp_path / f"seed_{seed}_{len(list(tmp_path.iterdir()))}.jsonl"
    infer(output_file=str(out), **{**SETTINGS, "seed": seed, "max_problems": 4})
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    greedy = [r["text"] for r in rows if r["decoding"] == "greedy"]
    samples = [r["text"] for r in rows if r["decoding"] == "sample"]
    assert len(greedy) == 4 and len(samples) == 4 * SETTINGS["num_samples"]
    return greedy, samples


def test_same_seed_same_samples_other_seed_other_samples(tmp_path):
    greedy_a, samples_a = _rows(tmp_path, 1)
    greedy_b, samples_b = _rows(tmp_path, 1)
    greedy_c, samples_c = _rows(tmp_path, 2)
    assert samples_a == samples_b and greedy_a == greedy_b
    assert greedy_c == greedy_a  # greedy decoding ignores the seed
    # 6 tokens near-uniform over 259 at temperature 0.9: a coincidence is hopeless.
    assert sum(a != c for a, c in zip(samples_a, samples_c)) >= len(samples_a) - 1
    assert len(set(samples_a)) >= len(samples_a) - 1  # samples differ from each other too
