"""Gin binds only at the edges (issue 26): library code gets exactly the arguments it is passed.

Library modules may *register* a class or function with gin (`gin.register`: a gin file can
then name it, `@ModelConfig()`), but never read gin: a direct Python call sees no binding.
The entry points (their CLIs) read gin and pass what they read in; the SeqIO tasks' options
(`tasks.synthetic_task_options.*`, ...) are read by `gin_utils` into one explicit object,
`data.task_options.current()`, which the tasks read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gin
import pytest

import tasks  # noqa: F401  (registers the SeqIO tasks)
from mathft_jax import gin_utils
from mathft_jax.data import task_options, task_reads
from mathft_jax.decoding.sampling import Sampling
from mathft_jax.evaluator import losses as evaluator_losses
from mathft_jax.models import ModelConfig
from mathft_jax.recipe.settings import RecipeSettings
from mathft_jax.training import losses, optimizers

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mathft_jax"
# The library: the package and the SeqIO task registrations (`import tasks`).
LIBRARY = (PACKAGE, REPO / "tasks")
# The entry points: each reads gin in its CLI and passes the values in.
EDGES = {"mathft_jax/" + name for name in (
    "gin_utils.py", "train.py", "infer.py", "score.py", "evaluate.py", "export.py",
    "train_sequence.py", "recipe/__main__.py")}
# What a library module may use: registering, and the REQUIRED marker of a gin-named signature.
REGISTERING = {"register", "REQUIRED"}


def _gin_uses(path: Path) -> list[tuple[str, int]]:
    """Each `gin.<name>` in `path`'s code (not its docstrings), with its line."""
    tree = ast.parse(path.read_text(), str(path))
    return [(node.attr, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "gin"]


def test_library_modules_only_register_with_gin():
    paths = sorted(p for root in LIBRARY for p in root.rglob("*.py"))
    assert any(p.parent.name == "tasks" for p in paths) and len(paths) > 100
    reads = []
    for path in paths:
        relative = path.relative_to(REPO).as_posix()
        if relative in EDGES:
            continue
        reads += [f"{relative}:{line} gin.{name}" for name, line in _gin_uses(path)
                  if name not in REGISTERING]
    assert not reads, "library code reading gin:\n" + "\n".join(reads)


def test_the_scan_sees_a_read():
    source = "import gin\n@gin.configurable\ndef f(x=gin.REQUIRED):\n    gin.query_parameter('a')\n"
    tree = ast.parse(source)
    names = sorted(node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute))
    assert [n for n in names if n not in REGISTERING] == ["configurable", "query_parameter"]


@pytest.fixture
def bindings():
    gin.clear_config()
    gin.parse_config([
        "ModelConfig.num_layers = 7",
        "Sampling.top_k = 3",
        "make_sft_loss.z_loss = 0.5",
        "make_schedule.peak_value = 0.25",
        "mathft_jax.evaluator.make_evaluator_loss.margin = 9.0",
        "RecipeSettings.sft_steps = 11",
        "RecipeSettings.model_config = @ModelConfig()",
    ])
    yield
    gin.clear_config()


def test_direct_calls_see_no_binding(bindings):
    assert ModelConfig().num_layers == ModelConfig.__dataclass_fields__["num_layers"].default
    assert Sampling().top_k is None
    settings = RecipeSettings(model_config=ModelConfig())
    assert settings.sft_steps == RecipeSettings.__dataclass_fields__["sft_steps"].default
    assert optimizers.build_optimizer(10).settings["schedule"]["peak_value"] != 0.25


def test_gin_references_get_the_bindings(bindings):
    assert gin.get_configurable(ModelConfig)().num_layers == 7
    assert gin.get_configurable(Sampling)().top_k == 3
    assert gin.get_configurable(RecipeSettings)().sft_steps == 11
    assert gin.get_bindings(losses.make_sft_loss) == {"z_loss": 0.5}
    assert gin.get_bindings(evaluator_losses.make_evaluator_loss) == {"margin": 9.0}


def test_registering_returns_the_object_itself():
    # gin.configurable would wrap them: a call inside the library would then read gin.
    assert gin.get_configurable(ModelConfig) is not ModelConfig
    assert type(gin.get_configurable(ModelConfig)()) is ModelConfig
    assert losses.make_sft_loss.__module__ == "mathft_jax.training.losses"
    assert not hasattr(losses.make_sft_loss, "__wrapped__")


TASK_BINDINGS = [
    "tasks.math_task_options.split_config = 'original'",
    "tasks.math_task_options.on_error = 'skip'",
    "tasks.synthetic_task_options.levels = (1, 2)",
    "tasks.synthetic_task_options.num_train = 64",
    "mathft_jax.data.math_vocabulary.kind = 'sentencepiece'",
    "mathft_jax.data.math_vocabulary.path = '/models/tokenizer.model'",
    "synthetic_vocabulary.vocab_size = 256",
    "mathft_jax.data.math_data_dir.path = '/data/math'",
]


@pytest.fixture
def task_bindings():
    gin.clear_config()
    gin.parse_config(TASK_BINDINGS)
    yield
    gin.clear_config()


def test_the_tasks_see_no_binding_until_the_edge_installs_it(task_bindings):
    assert task_options.current() == task_options.TaskOptions()
    assert task_reads.task_identity("synthetic_sft")["options"]["levels"] == [1, 2, 3, 4, 5]
    assert "path" not in task_reads.task_identity("math_sft")["vocabulary"]
    assert gin_utils.use_task_options_from_gin() is task_options.current()
    assert task_reads.task_identity("synthetic_sft")["options"]["levels"] == [1, 2]


def test_the_edge_reads_every_task_option_under_its_gin_name(task_bindings):
    options = gin_utils.task_options_from_gin()
    assert options.math == task_options.MathTaskOptions(split_config="original", on_error="skip")
    assert options.synthetic == task_options.SyntheticTaskOptions(levels=(1, 2), num_train=64)
    assert options.math_vocabulary == task_options.VocabularyOptions(
        kind="sentencepiece", path="/models/tokenizer.model")
    assert options.synthetic_vocabulary == task_options.VocabularyOptions(
        kind="synthetic", vocab_size=256)
    assert options.math_data_dir == "/data/math"


def test_a_bad_task_option_is_a_config_error_at_the_edge():
    gin.clear_config()
    try:
        gin.parse_config(["tasks.synthetic_task_options.levels = (0,)"])
        with pytest.raises(gin_utils.ConfigError, match="task options: levels must be"):
            gin_utils.task_options_from_gin()
    finally:
        gin.clear_config()
