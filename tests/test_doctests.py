"""Every worked example in the package's docstrings stays true (doctest)."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import mathft_jax
import tasks

# Examples that need files on disk (a MATH download, a TFDS build) are marked +SKIP there.
ONLY_SKIPPED_EXAMPLES = {"mathft_jax.data.records", "mathft_jax.data.math_dataset",
                         "mathft_jax.data.tfds_math"}


def _modules_with_examples() -> list[str]:
    """Modules whose source shows a `>>>` example (found without importing them)."""
    names = []
    for package in (mathft_jax, tasks):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            origin = importlib.util.find_spec(info.name).origin
            if origin and origin.endswith(".py") and ">>> " in Path(origin).read_text():
                names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    assert "mathft_jax.evaluation.metrics" in MODULES and "mathft_jax.gin_utils" in MODULES
    assert ONLY_SKIPPED_EXAMPLES <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert (result.attempted == 0) == (name in ONLY_SKIPPED_EXAMPLES)
