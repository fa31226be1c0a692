"""python -m mathft_jax.recipe --gin_file=gin_configs/recipe/quick.gin --gin.RUN_DIR="'runs/q'"

Runs every stage of `paper.stages` under RUN_DIR, skipping finished ones; prints one line per
stage start and end, tqdm bars inside stages, and at the end the table and where it is.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402

from mathft_jax import gin_utils  # noqa: E402
from mathft_jax.recipe import paper, runner, settings as settings_lib, table  # noqa: E402


@gin.configurable
def recipe(run_dir: str = gin.REQUIRED,
           settings: settings_lib.RecipeSettings = gin.REQUIRED) -> dict:
    """Runs the paper's chain into `run_dir`; returns the stages' manifests."""
    from mathft_jax import distributed
    distributed.maybe_initialize()
    manifests = runner.run_stages(paper.stages(settings, table.write), run_dir)
    print(f"report: {os.path.join(run_dir, 'report', 'report.md')} (and report.json, PNG "
          f"plots); every stage's outputs are in {run_dir}/<stage>/", flush=True)
    return manifests


if __name__ == "__main__":
    gin_utils.run_main(recipe)
