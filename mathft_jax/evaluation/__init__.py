"""Grading and evaluation metrics: answer extraction, equivalence, clustering, selection,
metrics, reports and plots. See each module's docstring for the rules."""

from mathft_jax.evaluation.answer_extraction import extract_answer
from mathft_jax.evaluation.equivalence import Grader, check_equiv, is_equiv
from mathft_jax.evaluation.verdict import Verdict

__all__ = ["extract_answer", "Grader", "check_equiv", "is_equiv", "Verdict"]
