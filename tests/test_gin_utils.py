"""gin_utils: unread (misspelled) macros and the classification of failures into exit codes."""

import errno

import gin
import pytest

from mathft_jax import gin_utils
from mathft_jax.errors import ConfigError, EnvironmentFailure


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


def test_gin_files_that_include_themselves_or_each_other_are_named(tmp_path):
    (tmp_path / "self.gin").write_text(f'X = 1\ninclude "{tmp_path}/self.gin"\n')
    with pytest.raises(ConfigError, match=rf"^gin file {tmp_path}/self.gin includes itself "
                                          r"\(line 2\)$"):
        gin_utils.parse_config([str(tmp_path / "self.gin")], [])
    # Reached through a file outside the cycle; relative names resolve on gin's search paths.
    (tmp_path / "top.gin").write_text('include "a.gin"\n')
    (tmp_path / "a.gin").write_text('include "b.gin"\n')
    (tmp_path / "b.gin").write_text('\ninclude "a.gin"\n')
    with pytest.raises(ConfigError, match=rf"^gin files include each other in a cycle: "
                                          rf"{tmp_path}/a.gin line 1 includes {tmp_path}/b.gin, "
                                          rf"{tmp_path}/b.gin line 2 includes {tmp_path}/a.gin$"):
        gin_utils.parse_config([str(tmp_path / "top.gin")], [], [str(tmp_path)])


def test_a_file_included_twice_without_a_cycle_is_fine(tmp_path):
    (tmp_path / "common.gin").write_text("")
    (tmp_path / "a.gin").write_text(f'include "{tmp_path}/common.gin"\n')
    (tmp_path / "top.gin").write_text(f'include "{tmp_path}/a.gin"\n'
                                      f'include "{tmp_path}/common.gin"\n')
    gin_utils.check_include_cycles([str(tmp_path / "top.gin")])


def test_the_one_line_drops_gins_call_context():
    """gin appends "In call to configurable 'train' (<function ...>)" to what a configurable
    raises; the error line keeps only the cause."""

    @gin.configurable
    def fails():
        raise ConfigError("task 'x' is unknown")

    with gin.unlock_config():
        try:
            fails()
        except ConfigError as e:
            assert "In call to configurable" in str(e)
            assert gin_utils.classify(e) == (2, "task 'x' is unknown")
