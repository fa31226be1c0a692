"""T5X-style command-line entry points driven by gin.

Every entry point (`python -m mathft_jax.train`, `.infer`, `.score`, `.evaluate`, `.export`,
`.recipe`, `.train_sequence`) accepts

    --gin_file=PATH          (repeatable; relative paths are searched in the current
                              directory, then the repository root, then the installed package)
    --gin.KEY=VALUE          (repeatable; `KEY = VALUE` appended after the files)
    --gin_search_paths=A,B   (extra directories to resolve --gin_file and gin `include`s)
    -h, --help               (the gin files a run needs, its required macros, an example;
                              `cli_help`, exit 0)

and fails at once, before any model or data work, with one line naming the problem when a
flag is unknown (the line ends with the `--help` hint), a file is missing, a binding names
an unknown configurable or parameter, a macro is undefined, gin files include each other in
a cycle (the error names each file and line of the cycle),
a macro set on the command line or in the user's own gin file is read by nothing (a typo:
`--gin.NUM_SAMPLE=7`; the error suggests the closest known macro), or a required argument of
the entry function is unbound.

Exit status (`run_main`): 0 success; 2 (`EXIT_CONFIG`) bad input or configuration, with one
`error: ...` line on stderr naming the file or setting and the cause (fix the command or the
file); 3 (`EXIT_ENVIRONMENT`) the machine failed the run, e.g. disk full or over quota, with
one `error: ...` line (free space and rerun: training and inference resume). Anything else is
a bug and keeps its traceback.

Example:
    python -m mathft_jax.train --gin_file=gin_configs/models/tiny.gin \
        --gin_file=gin_configs/runs/sft.gin --gin.MODEL_DIR="'runs/tiny'" \
        --gin.MIXTURE_OR_TASK_NAME="'synthetic_sft'" --gin.TRAIN_STEPS=100
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import gin
from gin import config_parser

from mathft_jax import cli_help, startup
from mathft_jax.data import math_dataset, task_options
# Re-exported: the error kinds and exit statuses were defined here before `errors` existed,
# and users' own entry points and task modules may import them from here.
from mathft_jax.errors import (EXIT_CONFIG, EXIT_ENVIRONMENT, ConfigError,  # noqa: F401
                               EnvironmentFailure, causes, classify)

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DEFAULT_SEARCH_PATHS = (Path.cwd(), REPO_ROOT, PACKAGE_DIR)
# The project's own gin files: macros they set may legitimately go unread in some pairings.
PROJECT_GIN_DIRS = (REPO_ROOT / "gin_configs", PACKAGE_DIR)



def parse_flags(argv: Sequence[str], entry: Optional[str] = None
                ) -> tuple[list[str], list[str], list[str]]:
    """Splits T5X-style flags into (gin files, gin bindings, search paths).

    Args:
      argv: the command line after the program name.
      entry: the entry point's name (e.g. "train"), for the `--help` hint of an error.

    Raises:
      ConfigError: a flag of another form; the message ends with how to get the help
        (`-h`/`--help` itself is answered by `run_main` before this is called).

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
                raise ConfigError(f"flag {arg!r} must look like --gin.KEY=VALUE; "
                                  f"{cli_help.help_hint(entry)}")
            key, value = key_value.split("=", 1)
            bindings.append(f"{key} = {value}")
        elif arg.startswith("--gin_search_paths="):
            search.extend(p for p in arg.split("=", 1)[1].split(",") if p)
        else:
            raise ConfigError(f"unknown flag {arg!r} (expected --gin_file=PATH, "
                              f"--gin.KEY=VALUE or --gin_search_paths=DIRS); "
                              f"{cli_help.help_hint(entry)}")
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
    check_include_cycles(resolved)
    try:
        gin.parse_config_files_and_bindings(resolved, bindings, finalize_config=False,
                                            skip_unknown=False)
    except (ValueError, KeyError, SyntaxError, ImportError, IOError) as e:
        raise ConfigError(_first_line(e)) from None
    user_files = [f for f in resolved if not _is_project_file(f)]
    check_unread_macros({"on the command line": "\n".join(bindings),
                         **{f"in {f}": Path(f).read_text() for f in user_files}})


def _included_file(name: str) -> Optional[str]:
    """Where gin's `include` finds `name`: as given when absolute, else the first of gin's
    search paths that has it; None when not found (gin then names it)."""
    prefixes = [""] if os.path.isabs(name) else gin.config._LOCATION_PREFIXES  # noqa: SLF001
    for prefix in prefixes:
        candidate = os.path.join(prefix, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _includes(path: str) -> list[tuple[int, str]]:
    """(line, resolved path) of each `include` of a gin file that gin would find."""
    try:
        statements = list(config_parser.ConfigParser(Path(path).read_text(), _Placeholders()))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []  # unreadable or malformed: gin's own parse reports it
    found = []
    for st in statements:
        if isinstance(st, config_parser.IncludeStatement):
            target = _included_file(st.filename)
            if target is not None:
                found.append((st.location.line_num, target))
    return found


def check_include_cycles(files: Sequence[str]) -> None:
    """Raises ConfigError naming the files and lines of an `include` cycle (gin itself
    recurses until Python's stack overflows).

    Example of the message (a.gin includes b.gin, which includes a.gin):
        gin files include each other in a cycle: a.gin line 1 includes b.gin, b.gin line 1
        includes a.gin
    """
    done: set[str] = set()

    def visit(path: str, chain: list[tuple[str, int]]) -> None:
        key = os.path.realpath(path)
        if key in done:
            return
        for line, target in _includes(path):
            on_chain = [os.path.realpath(p) for p, _ in chain] + [key]
            if os.path.realpath(target) in on_chain:
                start = on_chain.index(os.path.realpath(target))
                steps = chain[start:] + [(path, line)]
                names = [p for p, _ in steps[1:]] + [target]
                if len(steps) == 1:
                    raise ConfigError(f"gin file {path} includes itself (line {line})")
                raise ConfigError("gin files include each other in a cycle: " + ", ".join(
                    f"{p} line {n} includes {name}" for (p, n), name in zip(steps, names)))
            visit(target, chain + [(path, line)])
        done.add(key)

    for f in files:
        visit(f, [])


def _is_project_file(path: str) -> bool:
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(d) for d in PROJECT_GIN_DIRS)


class _Placeholders(config_parser.ParserDelegate):
    """Parses values without resolving references (only statement names are wanted)."""

    def configurable_reference(self, scoped_selector, evaluate):
        return scoped_selector

    def macro(self, name):
        return name


def macros_set_in(text: str) -> list[str]:
    r"""Names of the macros a gin text sets itself (`NAME = value`; includes not followed).

    Example:
        >>> macros_set_in("NUM_SAMPLES = 4\ninfer.seed = %SEED")
        ['NUM_SAMPLES']
    """
    return [st.selector for st in config_parser.ConfigParser(text, _Placeholders())
            if isinstance(st, config_parser.BindingStatement) and not st.arg_name]


def _macros_defined_and_read() -> tuple[set[str], set[str]]:
    config = gin.config._CONFIG  # gin has no public view of the parsed bindings
    defined = {scope for scope, selector in config if selector == "gin.macro"}
    read = {ref.scopes[-1] for ref in gin.config.iterate_references(config)
            if ref.selector == "gin.macro" and ref.scopes}
    return defined, read


def check_unread_macros(sources: dict[str, str]) -> None:
    """Raises ConfigError for a macro that a source sets but no binding reads (a typo).

    Args:
      sources: "on the command line" / "in FILE" -> that gin text.
    """
    defined, read = _macros_defined_and_read()
    for where, text in sources.items():
        for name in macros_set_in(text):
            if name in read:
                continue
            known = sorted(read | (defined - {name}))
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"gin macro {name} (set {where}) is not read by anything"
                              f"{hint}")


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # gin appends "In file ..., line N" context: keep the cause and the location.
    head = lines[0]
    where = next((ln.strip() for ln in lines[1:] if "line" in ln and ("file" in ln or "bindings" in ln)), "")
    return f"{head} ({where})" if where else head


def check_required(fn: Callable[..., Any], name: Optional[str] = None) -> None:
    """Raises ConfigError naming every required argument of `fn` that gin does not bind.

    Required: a default of `gin.REQUIRED`, or no default at all (the fields of a tool's
    settings dataclass). `name` is the configurable's gin name (default: `fn.__name__`).
    """
    name = name or getattr(fn, "__name__", str(fn))
    missing = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is gin.REQUIRED or param.default is inspect.Parameter.empty:
            try:
                gin.query_parameter(f"{name}.{param.name}")
            except ValueError:
                missing.append(param.name)
    if missing:
        raise ConfigError(
            f"missing required gin binding(s) for {name}: "
            + ", ".join(f"{name}.{m}" for m in missing)
            + " (set them in a --gin_file, e.g. gin_configs/runs/*.gin, or with --gin.KEY=VALUE)")


def configured_arguments(fn: Callable[..., Any]) -> dict[str, Any]:
    """The keyword arguments a gin-configured call of `fn` gets: defaults, then bindings.

    Example (with `make_schedule.peak_value = %LEARNING_RATE` and `LEARNING_RATE = 1e-4`):
        configured_arguments(make_schedule)["peak_value"]   # -> 0.0001
    """
    selector = f"{fn.__module__}.{fn.__name__}"
    out = {}
    for param in inspect.signature(fn).parameters.values():
        if param.default is inspect.Parameter.empty:
            continue
        try:
            out[param.name] = _macro_value(gin.query_parameter(f"{selector}.{param.name}"))
        except ValueError:
            out[param.name] = param.default
    return out


def _macro_value(value: Any) -> Any:
    """Follows `%MACRO` references (possibly chained) to the bound value."""
    while (isinstance(value, gin.config.ConfigurableReference)
           and value.selector == "gin.macro"):
        value = gin.query_parameter(f"%{value.scopes[-1]}")
    return value


def task_options_from_gin() -> task_options.TaskOptions:
    """The SeqIO tasks' options as the parsed gin config binds them, under their gin names:
    `tasks.math_task_options.*`, `tasks.synthetic_task_options.*`,
    `mathft_jax.data.math_vocabulary.*`, `mathft_jax.data.synthetic_vocabulary.*` and
    `mathft_jax.data.math_data_dir.path` (the library's tasks read no gin: see
    `data.task_options`).

    Raises:
      ConfigError: when a bound value is invalid (e.g. an unknown synthetic level).
    """
    try:
        return task_options.TaskOptions(
            math=gin.get_configurable(task_options.MathTaskOptions)(),
            synthetic=gin.get_configurable(task_options.SyntheticTaskOptions)(),
            math_vocabulary=gin.get_configurable(task_options.math_vocabulary)(),
            synthetic_vocabulary=gin.get_configurable(task_options.synthetic_vocabulary)(),
            math_data_dir=gin.get_bindings(math_dataset.math_data_dir).get("path"))
    except (ValueError, TypeError) as e:
        raise ConfigError(f"task options: {_first_line(e)}") from None


def use_task_options_from_gin() -> task_options.TaskOptions:
    """Installs `task_options_from_gin()` as the tasks' options (`task_options.set_current`)
    and returns them: what every entry point does once its gin files are parsed (`run_main`);
    a Python caller that parses gin itself and then runs tasks calls it too."""
    options = task_options_from_gin()
    task_options.set_current(options)
    return options


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


def _entry_name(main_fn: Callable[..., Any]) -> Optional[str]:
    """The entry point `main_fn` is the main function of ("train", "infer", ...), if any."""
    name = getattr(main_fn, "__name__", "")
    return name if name in cli_help.ENTRY_POINTS else None


def run_main(main_fn: Callable[[], Any], argv: Sequence[str] | None = None) -> Any:
    """Parses flags, validates the configuration, then calls `main_fn()`.

    `main_fn` is a gin-configurable function whose required arguments default to
    `gin.REQUIRED`; they are checked before it starts, and the SeqIO tasks' options are
    read from gin and installed (`use_task_options_from_gin`). `-h`/`--help` prints the entry
    point's help (`cli_help`) and returns None. A failure `classify` recognises exits
    with its status (2 or 3, see the module docstring) and a single `error: ...` line on
    stderr.
    """
    return _run_entry(_entry_name(main_fn), lambda: check_required(main_fn), main_fn, argv)


def run_tool(name: str, settings_type: type, run: Callable[[Any], Any],
             argv: Sequence[str] | None = None) -> Any:
    """The command line of a tool whose settings are one frozen dataclass.

    `settings_type` is registered with gin under the tool's `name` (so gin files bind
    `infer.batch_size = 8`); here, at the edge, its fields are checked (each field without a
    default must be bound), the settings are built from the gin bindings and `run(settings)`
    runs, gin-free. Help, exit statuses and the one-line errors are those of `run_main`.

    Example (`python -m mathft_jax.infer ...`):
        run_tool("infer", InferSettings, run_infer)
    """
    return _run_entry(name if name in cli_help.ENTRY_POINTS else None,
                      lambda: check_required(settings_type, name),
                      lambda: run(gin.get_configurable(settings_type)()), argv)


def _run_entry(entry: Optional[str], check: Callable[[], None], call: Callable[[], Any],
               argv: Sequence[str] | None) -> Any:
    """`run_main`'s body: help, flags, gin, `check()`, then `call()`; known failures exit
    with one line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if entry is not None and startup.wants_help(argv):
        sys.stdout.write(cli_help.format_help(entry))
        sys.stdout.flush()
        return None
    try:
        files, bindings, search = parse_flags(argv, entry)
        parse_config(files, bindings, search)
        check()
        finalize()
        use_task_options_from_gin()
        # Finalizing validated the macros; unlocking again lets modules that register gin
        # configurables be imported lazily during the run.
        with gin.unlock_config():
            return call()
    except Exception as e:  # noqa: BLE001 (bugs are re-raised below)
        known = classify(e)
        if known is None:
            raise
        status, message = known
        sys.stdout.flush()
        print(f"error: {message}", file=sys.stderr, flush=True)
        startup.stop_filter()  # os._exit skips atexit: pass the filtered stderr on first
        # Not SystemExit: at interpreter shutdown, Orbax's and tf.data's abandoned background
        # work would print pages of tracebacks after this line. Files are closed already
        # (the run's `finally` blocks ran while the exception propagated).
        os._exit(status)
