"""Data for mathft_jax: MATH readers and splits, prompts, the synthetic benchmark, vocabularies.

Pure-Python modules without gin are imported here; `math_dataset` (it registers its data
directory's gin name) is imported on first use of its names, and the TensorFlow-dependent ones
(`vocab`, `sources`, `tfds_math`, `task_factory`) are imported explicitly by whoever needs
them, so that importing `mathft_jax.data.answers` (e.g. from the grader) stays cheap and needs
no gin.
"""

import importlib
from typing import Any

from mathft_jax.data.answers import last_boxed_content
from mathft_jax.data.records import DataFormatError, ReadReport, read_jsonl, write_jsonl

_FROM_MATH_DATASET = ("MathProblem", "load_math", "math_data_dir")

__all__ = ["DataFormatError", "MathProblem", "ReadReport", "last_boxed_content", "load_math",
           "math_data_dir", "read_jsonl", "write_jsonl"]


def __getattr__(name: str) -> Any:
    if name in _FROM_MATH_DATASET:
        return getattr(importlib.import_module("mathft_jax.data.math_dataset"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
