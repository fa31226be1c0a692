"""The one-command recipe: the paper's chain of stages with cached, resumable outputs.

`runner` (stages, manifests, skip / resume / restart), `settings` (the gin-registered
RecipeSettings), `paper` (the chain), `table` (the report and the verdicts); run it with
`python -m mathft_jax.recipe --gin_file=gin_configs/recipe/<name>.gin`.
"""
