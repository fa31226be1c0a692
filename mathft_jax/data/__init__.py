"""Data for mathft_jax: MATH readers and splits, prompts, the synthetic benchmark, vocabularies.

Pure-Python modules are imported here; the TensorFlow-dependent ones (`vocab`, `sources`,
`tfds_math`, `task_factory`) are imported explicitly by whoever needs them, so that importing
`mathft_jax.data.answers` (e.g. from the grader) stays cheap.
"""

from mathft_jax.data.answers import last_boxed_content
from mathft_jax.data.math_dataset import MathProblem, load_math, math_data_dir
from mathft_jax.data.records import DataFormatError, ReadReport, read_jsonl, write_jsonl

__all__ = ["DataFormatError", "MathProblem", "ReadReport", "last_boxed_content", "load_math",
           "math_data_dir", "read_jsonl", "write_jsonl"]
