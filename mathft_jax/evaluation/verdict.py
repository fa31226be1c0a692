"""The tri-state result of an equivalence check."""

from __future__ import annotations

import enum
from typing import Iterable


class Verdict(enum.Enum):
    """EQUAL and NOT_EQUAL are proofs; UNKNOWN means the bounded check could not decide
    (unparseable, too large, or out of time). `is_equiv` treats UNKNOWN as not equal."""

    EQUAL = "equal"
    NOT_EQUAL = "not_equal"
    UNKNOWN = "unknown"


def all_of(verdicts: Iterable[Verdict]) -> Verdict:
    """Conjunction: NOT_EQUAL if any is, else UNKNOWN if any is, else EQUAL (lazy)."""
    unknown = False
    for v in verdicts:
        if v is Verdict.NOT_EQUAL:
            return Verdict.NOT_EQUAL
        if v is Verdict.UNKNOWN:
            unknown = True
    return Verdict.UNKNOWN if unknown else Verdict.EQUAL
