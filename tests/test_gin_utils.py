"""gin_utils: unread (misspelled) macros and the classification of failures into exit codes."""

import errno

import gin
import pytest

from mathft_jax import gin_utils
from mathft_jax.gin_utils import ConfigError, EnvironmentFailure


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_macros_set_in_lists_only_macro_bindings():
    text = "A = 1\nB = %A\nevaluate.seed = %B\nevaluate:\n  rerank_k = 4\n"
    assert gin_utils.macros_set_in(text) == ["A", "B"]


def test_an_unread_macro_is_an_error_with_the_closest_name():
    import mathft_jax.evaluate  # noqa: F401 (registers `evaluate`)
    with pytest.raises(ConfigError, match=r"RERANK_KK \(set on the command line\) is not read "
                                          r"by anything; did you mean RERANK_K\?"):
        gin_utils.parse_config(["gin_configs/runs/evaluate.gin"], ["RERANK_KK = 4"])
    gin.clear_config()
    # A macro that something reads is fine, as are the project files' own macros.
    gin_utils.parse_config(["gin_configs/runs/evaluate.gin"], ["RERANK_K = 4"])
    gin.clear_config()
    with pytest.raises(ConfigError, match=r"ZZZ_UNRELATED .* not read by anything$"):
        gin_utils.parse_config(["gin_configs/runs/evaluate.gin"], ["ZZZ_UNRELATED = 4"])


@pytest.mark.parametrize("exc, expected", [
    (OSError(errno.ENOSPC, "No space left on device", "/r/ckpt"),
     (3, "/r/ckpt: No space left on device")),
    (ValueError('RESOURCE_EXHAUSTED: Failed writing "/r/x": No space left on device'),
     (3, 'RESOURCE_EXHAUSTED: Failed writing "/r/x": No space left on device')),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/in.jsonl"),
     (2, "/in.jsonl: No such file or directory")),
    (EnvironmentFailure("disk\nfull"), (3, "disk full")),
    (KeyError("a bug"), None),
])
def test_classify(exc, expected):
    assert gin_utils.classify(exc) == expected


def test_classify_finds_a_config_error_behind_a_library_exception():
    try:
        try:
            raise ConfigError("data.jsonl:3: bad JSON")
        except ConfigError as inner:
            raise RuntimeError("tf.data wrapped it") from inner
    except RuntimeError as outer:
        assert gin_utils.classify(outer) == (2, "data.jsonl:3: bad JSON")
