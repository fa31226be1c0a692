"""python -m mathft_jax.recipe --gin_file=gin_configs/recipe/quick.gin --gin.RUN_DIR="'runs/q'"

Runs every stage of `paper.stages` under RUN_DIR, skipping finished ones; prints one line per
stage start and end, tqdm bars inside stages, and at the end the table and where it is.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402

from mathft_jax import gin_utils  # noqa: E402
from mathft_jax.errors import ConfigError  # noqa: E402
from mathft_jax.recipe import paper, runner, seeds as seeds_lib, settings as settings_lib  # noqa: E402,E501
from mathft_jax.recipe import scaling as scaling_lib, scaling_report, table  # noqa: E402
from mathft_jax.training import run_lock  # noqa: E402


def recipe(run_dir: str = gin.REQUIRED, settings: settings_lib.RecipeSettings = gin.REQUIRED,
           seeds: Optional[Sequence[int]] = None, targets: Optional[Sequence[str]] = None,
           scaling: Optional[scaling_lib.ScalingSettings] = None) -> dict:
    """Runs the paper's chain into `run_dir`; returns the stages' manifests.

    With `targets` (stage names, e.g. `--gin.recipe.targets="('eval_test_sft_detailed',)"`),
    runs only those stages and the ones they read; a later run without targets reuses them.

    With `seeds` (e.g. `--gin.recipe.seeds="(0, 1, 2)"`), runs it once per seed into
    `run_dir/seed_<k>/` and aggregates them into `run_dir/report/aggregate.md` (`seeds.py`);
    returns {seed: manifests}.

    With `scaling` (gin_configs/recipe/evaluator_scaling.gin), runs the evaluator
    data-scaling study (`scaling.py`): its stages join the chain's, and the targets default
    to its report, `run_dir/scaling_report/scaling.md` (and .json, .png).
    """
    from mathft_jax import distributed
    distributed.maybe_initialize()
    if targets is not None and seeds:
        raise ConfigError("recipe.targets and recipe.seeds cannot be combined")
    if scaling is not None and seeds:
        raise ConfigError("recipe.scaling and recipe.seeds cannot be combined")
    stages = paper.stages(settings, table.write)
    if scaling is not None:
        stages += scaling_lib.stages(settings, scaling, scaling_report.write)
        targets = (scaling_lib.REPORT,) if targets is None else targets
    if targets is not None:
        manifests = runner.run_stages(stages, run_dir, targets=tuple(targets),
                                      parallel=settings.parallel_stages)
        print(f"stages {sorted(manifests)} are done; their outputs are in {run_dir}/<stage>/",
              flush=True)
        if scaling_lib.REPORT in manifests:
            print(f"scaling study: {os.path.join(run_dir, scaling_lib.REPORT, 'scaling.md')} "
                  "(and scaling.json, scaling.png)", flush=True)
        return manifests
    if not seeds:
        manifests = runner.run_stages(stages, run_dir, parallel=settings.parallel_stages)
        print(f"report: {os.path.join(run_dir, 'report', 'report.md')} (and report.json, PNG "
              f"plots); every stage's outputs are in {run_dir}/<stage>/", flush=True)
        return manifests
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"recipe.seeds has repeats: {tuple(seeds)}")
    out, inputs = {}, {}
    # The aggregate's folder: each seed_<k>/ has its own lock (`run_stages`).
    lock = run_lock.take(run_dir, "recipe.run_dir", lock_name=run_lock.RECIPE_LOCK_FILE)
    try:
        for k in seeds:
            print(f"== seed {k} -> {seeds_lib.seed_dir(run_dir, k)}", flush=True)
            stages = paper.stages(seeds_lib.seed_settings(settings, k), table.write)
            out[k] = runner.run_stages(stages, seeds_lib.seed_dir(run_dir, k),
                                       parallel=settings.parallel_stages)
            inputs[k] = {st.name: os.path.join(seeds_lib.seed_dir(run_dir, k), st.name)
                         for st in stages}
        path = seeds_lib.write(run_dir, seeds, settings, paper.rows, inputs)
    finally:
        if lock is not None:
            lock.release()
    print(f"report over seeds {tuple(seeds)}: {path} (and aggregate.json); each seed's own "
          f"report is in {run_dir}/seed_<k>/report/", flush=True)
    return out


# Not a decorator: mutmut skips decorated functions (tests/mutation_report.md).
recipe = gin.configurable(recipe)


if __name__ == "__main__":
    gin_utils.run_main(recipe)
