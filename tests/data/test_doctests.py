"""The worked examples in the data modules' docstrings stay true."""

import doctest
import importlib

import pytest

# Modules with runnable examples (records and math_dataset only show file-based ones).
MODULES = ["answers", "prompts", "synthetic", "sources", "vocab", "task_factory"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"mathft_jax.data.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
