"""The package's import structure follows its data flow (issue 26).

Every import of every module of `mathft_jax` is read from the source (`ast`, function-local
imports included, so an import cannot hide inside a function). Each module belongs to a unit
(a subpackage, or a top-level module) and each unit to one layer of `LAYERS`, written once
here in the order data flows: a module may import its own unit and units of its own or lower
layers, never a higher one, and no two units may import each other, however indirectly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mathft_jax"

# Bottom to top. Units of one layer may import each other (without a circle).
LAYERS: tuple[tuple[str, ...], ...] = (
    # Foundation: errors, paths and atomic files, caches, the mesh, process layout, the
    # stage-file schemas, the CPU kernels, start-up and --help texts.
    ("errors", "file_paths", "atomic_files", "cache_dirs", "partitioning", "distributed",
     "formats", "kernels", "startup", "cli_help"),
    ("data",),            # MATH and synthetic problems, prompts, vocabularies, SeqIO tasks
    ("models",),          # the decoder, its configs, pretrained weights and their import/export
    ("decoding",),        # sampling rules and the decode loops over a model
    ("preflight",),       # every entry point's setting checks (decoding's Sampling type)
    ("training",),        # train state, losses, optimizers, steps, checkpoints, input, loop
    ("params_source",),   # params for decoding and scoring: checkpoints or pretrained
    ("evaluation",),      # grading decoded candidates: extraction, equivalence, metrics
    ("evaluator",),       # the solution evaluator: examples from graded candidates, its losses
    # Stage machinery shared by infer / score (the resumable file, its chunked host-sharded
    # driver); the export check.
    ("resumable_jsonl", "chunked_output", "hf_consumer"),
    # Entry points (each a CLI with its gin edge) and the gin edge itself.
    ("gin_utils", "train", "infer", "score", "evaluate", "export"),
    # the paper's chain of stages over the entry points, and hand-made training sequences
    ("recipe", "train_sequence"),
)
LAYER_OF = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str | None:
    """`mathft_jax.training.data` -> "training"; the package's own `__init__` -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imported(module: str, is_package: bool, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[:len(base) - node.level + is_package]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        return [source] + [f"{source}.{a.name}" for a in node.names]
    return []


def package_imports() -> list[tuple[str, str, str, int]]:
    """(importing unit, imported unit, module, line) for each import across units."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported(module, path.name == "__init__.py", node):
                if not name.startswith("mathft_jax."):
                    continue
                source, target = _unit(module), _unit(name)
                if source and target and source != target:
                    found.append((source, target, module, node.lineno))
    return sorted(set(found))


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each import circle between units, as the path that closes it."""
    circles, state = [], {}

    def visit(unit: str, path: list[str]) -> None:
        state[unit] = "open"
        for target in sorted(edges.get(unit, ())):
            if state.get(target) == "open":
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[unit] = "done"

    for unit in sorted(edges):
        if unit not in state:
            visit(unit, [unit])
    return circles


IMPORTS = package_imports()


def test_every_unit_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert units == set(LAYER_OF), (sorted(units - set(LAYER_OF)), sorted(set(LAYER_OF) - units))


def test_no_import_runs_upward():
    upward = [f"{module} (line {line}) imports {target}: layer {LAYER_OF[target]} > "
              f"{source}'s {LAYER_OF[source]}" for source, target, module, line in IMPORTS
              if LAYER_OF[target] > LAYER_OF[source]]
    assert not upward, "\n".join(upward)


def test_no_import_circle_between_units():
    edges: dict[str, set[str]] = {}
    for source, target, _, _ in IMPORTS:
        edges.setdefault(source, set()).add(target)
    assert not _circles(edges)


@pytest.mark.parametrize("source, expected", [
    ("import mathft_jax.models.config\n", [("checked", "models")]),
    ("def f():\n    from mathft_jax.evaluator import tasks\n", [("checked", "evaluator")]),
    ("from ..data import vocab\n", [("checked", "data")]),
])
def test_imports_are_found_also_inside_functions_and_relative(source, expected):
    module = "mathft_jax.checked.mod"
    found = [(_unit(module), _unit(name)) for node in ast.walk(ast.parse(source))
             for name in _imported(module, False, node) if name.startswith("mathft_jax.")]
    assert sorted(set(found)) == expected


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _circles({"a": {"b"}, "b": set()}) == []
