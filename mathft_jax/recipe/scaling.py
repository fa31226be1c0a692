"""The evaluator data-scaling study: within-problem AUC against the number of training examples.

    train_samples ── subset_<n> (the first n sampled solutions, problems in order) ──┐
    sft_detailed ──────────────────────────────── scaling_<kind>_<n> (evaluator) ────┤
    test_sft_detailed ── scaling_test (its problems with correct AND incorrect samples)
                                      └── scaling_<kind>_<n>_scores ── scaling_report
    scores_likelihood, scores_likelihood_per_token (the untrained baselines) ───────┘

An "example" is one sampled solution of a training problem with its checker label; every
kind of evaluator builds its rows from the same first n (`examples.build_examples` keeps the
problems with both labels for the outcome losses; the step evaluator and the verifier use
every unique sample). The subsets are nested, so a larger size only adds data. Each
evaluator trains `steps_for(n)` steps (`epochs` passes over n rows of `batch_size`, at least
`min_steps`): the same compute for every kind at one size.

Only test problems with both correct and incorrect samples are scored (`scaling_test`): the
within-problem AUC (`evaluation/ranking.py`) reads no other problem, and scoring is the
study's slowest step after training. The report (`scaling_report.py`) writes the table and
the plot.

Run it with `recipe.scaling` set (gin_configs/recipe/evaluator_scaling.gin); its stages join
the recipe's, so a run folder holding a finished main job reuses its generator and test
samples when the settings agree.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Mapping

import gin

from mathft_jax.errors import ConfigError
from mathft_jax.recipe import paper
from mathft_jax.recipe.runner import Stage
from mathft_jax.recipe.settings import RecipeSettings

KINDS = paper.OUTCOME_LOSSES + ("steps", "likelihood")
BASELINES = {"scores_likelihood": "own likelihood (total, untrained)",
             "scores_likelihood_per_token": "own likelihood (per token, untrained)"}
REPORT = "scaling_report"


@gin.register
@dataclasses.dataclass(frozen=True)
class ScalingSettings:
    """The study's settings (the generator, data and evaluators' own ones are the recipe's).

    Attributes:
      sizes: training-set sizes, in sampled solutions of training problems, ascending.
        `RecipeSettings.train_problems` x `train_samples` must cover the largest.
      kinds: the evaluators trained at each size (`paper.evaluator_stage`'s kinds): an
        outcome loss ("classification", "margin", "mixture"), "steps" (step labels) or
        "likelihood" (the verifier: the language-model loss kept, token weights).
      epochs: passes over a size's examples (steps = epochs x size / batch_size).
      min_steps: the fewest steps an evaluator trains.
    """

    sizes: tuple[int, ...] = (250, 1000, 4000)
    kinds: tuple[str, ...] = ("classification", "steps", "likelihood")
    epochs: float = 1.0
    min_steps: int = 50

    def __post_init__(self):
        if not self.sizes or list(self.sizes) != sorted(set(self.sizes)) or self.sizes[0] < 1:
            raise ConfigError(f"ScalingSettings.sizes={self.sizes}: distinct positive sizes, "
                              "ascending")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ConfigError(f"ScalingSettings.kinds={self.kinds}: from {KINDS}")

    def steps_for(self, size: int, batch_size: int) -> int:
        """Training steps at `size` examples.

        Example:
            >>> ScalingSettings(epochs=1.0, min_steps=50).steps_for(1000, 8)
            125
        """
        return max(self.min_steps, math.ceil(self.epochs * size / batch_size))


def stage_name(kind: str, size: int) -> str:
    return f"scaling_{kind}_{size}"


def stages(s: RecipeSettings, scaling: ScalingSettings, report_fn) -> list[Stage]:
    """The study's stages (they read the recipe's `sft_detailed`, `train_samples`,
    `test_sft_detailed` and likelihood-score stages); `report_fn(folder, inputs, s, scaling)`
    writes the report."""
    available = s.train_problems * s.train_samples
    if scaling.sizes[-1] > available:
        raise ConfigError(f"ScalingSettings.sizes goes up to {scaling.sizes[-1]} examples; "
                          f"the recipe samples {s.train_problems} training problems x "
                          f"{s.train_samples} = {available}: raise "
                          "RecipeSettings.train_problems")
    if not s.likelihood_baselines:
        raise ConfigError("the scaling study compares with the likelihood baselines: "
                          "RecipeSettings.likelihood_baselines must be True")
    out = [Stage("scaling_test", ("test_sft_detailed",), {"keep": "mixed problems"},
                 _mixed_problems)]
    for size in scaling.sizes:
        subset = f"subset_{size}"
        out.append(Stage(subset, ("train_samples",), {"examples": size}, _first_samples(size)))
        for kind in scaling.kinds:
            steps = scaling.steps_for(size, s.batch_size)
            name = stage_name(kind, size)
            out.append(Stage(name, (subset, "sft_detailed"),
                             paper.evaluator_settings(s, kind, steps),
                             paper.evaluator_stage(s, kind, steps, samples=subset,
                                                   tag=f"_{size}")))
            out.append(Stage(f"{name}_scores", (name, "scaling_test"),
                             paper.score_settings(s, kind),
                             paper.score_stage(s, name, kind, candidates="scaling_test")))
    inputs = tuple(st.name for st in out) + tuple(BASELINES) + ("train_samples",)
    out.append(Stage(REPORT, inputs,
                     {"num_bootstrap": s.num_bootstrap, "seed": s.seed,
                      "sizes": list(scaling.sizes), "kinds": list(scaling.kinds)},
                     lambda folder, ins: report_fn(folder, ins, s, scaling)))
    return out


def _first_samples(size: int):
    """Stage function: the first `size` sampled rows of `train_samples` (by problem, then
    sample index) as this stage's candidates file."""
    def run(folder: str, inputs: Mapping[str, str]) -> dict:
        from mathft_jax import formats
        from mathft_jax.atomic_files import atomic_write_bytes
        rows, _ = formats.read_candidates(os.path.join(inputs["train_samples"], paper.CANDIDATES))
        sampled = sorted((r for r in rows if r["decoding"] == "sample"),
                         key=lambda r: (r["problem_id"], r["sample_index"]))
        if len(sampled) < size:
            raise ConfigError(f"{folder}: train_samples has {len(sampled)} sampled solutions, "
                              f"fewer than {size}")
        chosen = sampled[:size]
        atomic_write_bytes(os.path.join(folder, paper.CANDIDATES), formats.to_jsonl(chosen))
        return {"examples": size, "problems": len({r["problem_id"] for r in chosen})}
    return run


def _mixed_problems(folder: str, inputs: Mapping[str, str]) -> dict:
    """Stage function: the rows of the test problems whose samples are both correct and
    incorrect (the only ones a within-problem AUC reads)."""
    from mathft_jax import formats
    from mathft_jax.atomic_files import atomic_write_bytes
    from mathft_jax.evaluation.problems import grade_problems
    rows, _ = formats.read_candidates(os.path.join(inputs["test_sft_detailed"], paper.CANDIDATES))
    problems, _ = grade_problems(rows)
    mixed = set()
    for p in problems:
        correct = [label is not None and p.cluster_correct.get(label, False) for label in p.labels]
        if any(correct) and not all(correct):
            mixed.add(p.problem_id)
    kept = [r for r in rows if r["problem_id"] in mixed]
    atomic_write_bytes(os.path.join(folder, paper.CANDIDATES), formats.to_jsonl(kept))
    return {"problems": len(mixed), "of_problems": len(problems), "rows": len(kept)}
