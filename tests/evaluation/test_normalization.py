"""Normal forms' numeric helpers: when a written decimal stands for an exact value."""

from fractions import Fraction as F

import pytest

from mathft_jax.evaluation.normalization import rounds_to


@pytest.mark.parametrize("decimal, value, ulp, expected", [
    ("0.3333", F(1, 3), "0.0001", True),       # rounded (and truncated)
    ("0.6667", F(2, 3), "0.0001", True),       # rounded up
    ("0.6666", F(2, 3), "0.0001", True),       # truncated
    ("0.6665", F(2, 3), "0.0001", False),
    ("1.3", F(5, 4), "0.1", True),             # exactly half an ulp above: rounds half up
    ("1.2", F(5, 4), "0.1", True),             # half below, and a truncation too
    ("1.2", F(13, 10), "0.1", False),          # a whole ulp: neither
    ("1.4", F(13, 10), "0.1", False),
    ("0", F(7, 100), "0.1", True),             # truncated towards zero from above
    ("-1.2", F(-127, 100), "0.1", True),       # truncated, negative
    ("-1.3", F(-127, 100), "0.1", True),       # rounded, negative
    ("-0.1", F(5, 100), "0.1", False),         # opposite signs, more than half an ulp
    ("0.1", F(-7, 100), "0.1", False),
])
def test_rounds_to(decimal, value, ulp, expected):
    assert rounds_to(F(decimal), value, F(ulp)) is expected
