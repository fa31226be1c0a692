"""T5X-style command-line entry points driven by gin.

Every entry point (`python -m mathft_jax.train`, `.infer`, `.evaluate`, `.export`) accepts

    --gin_file=PATH          (repeatable; relative paths are searched in the current
                              directory, then the repository root, then the installed package)
    --gin.KEY=VALUE          (repeatable; `KEY = VALUE` appended after the files)
    --gin_search_paths=A,B   (extra directories to resolve --gin_file and gin `include`s)

and fails at once, before any model or data work, with one line naming the problem when a
file is missing, a binding names an unknown configurable or parameter, a macro is undefined,
or a required argument of the entry function is unbound.

Example:
    python -m mathft_jax.train --gin_file=gin_configs/models/tiny.gin \
        --gin_file=gin_configs/runs/sft.gin --gin.MODEL_DIR="'runs/tiny'" \
        --gin.MIXTURE_OR_TASK_NAME="'synthetic_sft'" --gin.TRAIN_STEPS=100
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import gin

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DEFAULT_SEARCH_PATHS = (Path.cwd(), REPO_ROOT, PACKAGE_DIR)


class ConfigError(Exception):
    """A user-facing configuration problem; its message is printed as one line."""


def parse_flags(argv: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """Splits T5X-style flags into (gin files, gin bindings, search paths).

    Example:
        >>> parse_flags(["--gin_file=a.gin", "--gin.X=1", "--gin_search_paths=d1,d2"])
        (['a.gin'], ['X = 1'], ['d1', 'd2'])
    """
    files, bindings, search = [], [], []
    for arg in argv:
        if arg.startswith("--gin_file="):
            files.append(arg.split("=", 1)[1])
        elif arg.startswith("--gin."):
            key_value = arg[len("--gin."):]
            if "=" not in key_value:
                raise ConfigError(f"flag {arg!r} must look like --gin.KEY=VALUE")
            key, value = key_value.split("=", 1)
            bindings.append(f"{key} = {value}")
        elif arg.startswith("--gin_search_paths="):
            search.extend(p for p in arg.split("=", 1)[1].split(",") if p)
        elif arg in ("-h", "--help"):
            raise ConfigError(__doc__.strip().splitlines()[2])
        else:
            raise ConfigError(f"unknown flag {arg!r} (expected --gin_file=, --gin.KEY=VALUE)")
    return files, bindings, search


def _resolve(path: str, search_paths: Sequence[Path]) -> str:
    if os.path.isabs(path):
        if os.path.exists(path):
            return path
        raise ConfigError(f"gin file not found: {path}")
    for base in search_paths:
        candidate = Path(base) / path
        if candidate.exists():
            return str(candidate)
    raise ConfigError(
        f"gin file not found: {path} (searched {', '.join(str(p) for p in search_paths)})")


def parse_config(files: Sequence[str], bindings: Sequence[str],
                 search_paths: Sequence[str] = ()) -> None:
    """Parses gin files and bindings, turning gin's errors into one-line ConfigErrors."""
    paths = [Path(p) for p in search_paths] + list(DEFAULT_SEARCH_PATHS)
    for p in paths:
        gin.add_config_file_search_path(str(p))
    resolved = [_resolve(f, paths) for f in files]
    try:
        gin.parse_config_files_and_bindings(resolved, bindings, finalize_config=False,
                                            skip_unknown=False)
    except (ValueError, KeyError, SyntaxError, ImportError, IOError) as e:
        raise ConfigError(_first_line(e)) from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # gin appends "In file ..., line N" context: keep the cause and the location.
    head = lines[0]
    where = next((ln.strip() for ln in lines[1:] if "line" in ln and ("file" in ln or "bindings" in ln)), "")
    return f"{head} ({where})" if where else head


def check_required(fn: Callable[..., Any]) -> None:
    """Raises ConfigError naming every REQUIRED argument of `fn` that gin does not bind."""
    name = getattr(fn, "__name__", str(fn))
    missing = []
    for param in inspect.signature(fn).parameters.values():
        if param.default is gin.REQUIRED:
            try:
                gin.query_parameter(f"{name}.{param.name}")
            except ValueError:
                missing.append(param.name)
    if missing:
        raise ConfigError(
            f"missing required gin binding(s) for {name}: "
            + ", ".join(f"{name}.{m}" for m in missing)
            + " (set them in a --gin_file, e.g. gin_configs/runs/*.gin, or with --gin.KEY=VALUE)")


def finalize() -> None:
    """Finalizes gin, naming any macro that is referenced but never set."""
    try:
        gin.finalize()
    except ValueError as e:
        match = re.search(r"No bindings specified for '([^'/]+)/gin.macro'", str(e))
        if match:
            raise ConfigError(f"gin macro {match.group(1)} is used but not set "
                              f"(pass --gin.{match.group(1)}=VALUE or set it in a gin file)") from None
        raise ConfigError(_first_line(e)) from None


def run_main(main_fn: Callable[[], Any], argv: Sequence[str] | None = None) -> Any:
    """Parses flags, validates the configuration, then calls `main_fn()`.

    `main_fn` is a gin-configurable function whose required arguments default to
    `gin.REQUIRED`; they are checked before it starts. Configuration errors exit with status 2
    and a single `error: ...` line on stderr.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        files, bindings, search = parse_flags(argv)
        parse_config(files, bindings, search)
        check_required(main_fn)
        finalize()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        # Finalizing validated the macros; unlocking again lets modules that register gin
        # configurables be imported lazily during the run.
        with gin.unlock_config():
            return main_fn()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
