"""Sharded training: losses, optimizers, train state and step, Orbax checkpoints, the loop.

Modules: `losses` (loss_fn contract, SFT loss, token log-probs), `objective` (a loss with the
row layout it needs: what `trainer.train_loop` takes), `optimizers` (schedules,
AdamW / Adafactor), `train_state`, `train_step` (microbatched jitted step), `checkpoints`,
`data` (per-host SeqIO pipelines), `metrics` (TensorBoard + console), `trainer` (the loop).
The entry point is `python -m mathft_jax.train`.
"""
