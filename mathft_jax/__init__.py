"""mathft_jax: JAX fine-tuning for competition math (README.md).

`python -m mathft_jax.<entry>` starts here: `startup.on_entry_point` answers `--help` and
quiets the accelerator-probe logs before any entry module imports JAX or TensorFlow; it does
nothing when the package is imported as a library.
"""

from mathft_jax import startup as _startup

_startup.on_entry_point()
