"""`launch/training_digest.py`: the same steps on the same machine give the same digest, and
any change to the training (one more step) gives another."""

from __future__ import annotations

import importlib.util
import re

from tests.kit import REPO

_spec = importlib.util.spec_from_file_location("training_digest",
                                               REPO / "launch/training_digest.py")
training_digest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(training_digest)


def test_the_digest_is_repeatable_and_moves_with_the_training():
    loss, digest = training_digest.train_digest(steps=2)
    assert training_digest.train_digest(steps=2) == (loss, digest)
    assert re.fullmatch(r"[0-9a-f]{16}", digest) and 0 < loss < 10
    assert training_digest.train_digest(steps=3)[1] != digest


def test_the_cpu_is_named():
    assert training_digest.cpu_model().strip()
