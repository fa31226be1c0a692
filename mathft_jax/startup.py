"""What `python -m mathft_jax.<entry>` does before JAX, TensorFlow or absl is imported.

`mathft_jax/__init__.py` calls `on_entry_point()` first thing; it acts only when the process
was started as one of the entry points (`python -m mathft_jax.train`, ...), never when the
package is imported as a library. It

* answers `-h` / `--help` at once (`cli_help`), before anything heavy is imported, exit 0;
* quiets the start-up logs of a machine without an accelerator (`quiet_environment`):
  `TF_CPP_MIN_LOG_LEVEL=2`, the absl Python logger at WARNING, and `JAX_PLATFORMS=cpu` when
  no JAX accelerator plugin (CUDA, ROCm, libtpu, Metal) is installed; each only when the
  user has not set it, so GPU and TPU machines keep their behaviour;
* filters the lines that native libraries write straight to stderr however the log levels
  are set (`StderrFilter`, `NOISE`): TensorFlow's CUDA probes on a CPU-only machine
  ("Could not find cuda drivers", "failed call to cuInit", cuDNN/cuFFT/cuBLAS factory
  registration, TensorRT), absl's "All log messages before absl::InitializeLog()" banner
  and SentencePiece's "precompiled_charsmap is empty" from tf_text's tokenizer op. Every
  other line passes unchanged and in order.

`MATHFT_QUIET=0` turns all of it off (everything printed as the libraries print it; for
debugging an accelerator set-up), except `--help`.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import os
import re
import select
import sys
import threading
from typing import Mapping, MutableMapping, Optional, Sequence

ENV_QUIET = "MATHFT_QUIET"
PACKAGE = "mathft_jax"
# Distribution-name prefixes of JAX's accelerator backends (names normalised to '-').
ACCELERATOR_DISTRIBUTIONS = ("jax-cuda", "jax-rocm", "libtpu", "jax-metal", "jax-tpu")
# Lines that native libraries print on a machine without a GPU and that say nothing useful.
NOISE = re.compile("|".join([
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"cudart_stub\.cc.*Could not find cuda drivers",
    r"cuda_platform\.cc.*failed call to cuInit",
    r"failed call to cuInit: (?:UNKNOWN ERROR|CUDA_ERROR_NO_DEVICE|INTERNAL)",
    r"Unable to register cu(?:DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning: Could not find TensorRT",
    r"cuda_executor\.cc.*could not open file to read NUMA node",
    r"precompiled_charsmap is empty\. use identity normalization",
]))
# A line start that may become a NOISE line: held back until its end arrives.
_MAYBE_NOISE = re.compile(r"^(?:[IWEF]\d{4} |WARNING: All log|normalizer\.cc|TF-TRT)")


def entry_point(orig_argv: Sequence[str]) -> Optional[str]:
    """The entry point a `python [opts] -m mathft_jax.<entry> ...` command line runs.

    Example:
        >>> entry_point(["python", "-u", "-m", "mathft_jax.train", "--help"])
        'train'
        >>> entry_point(["python", "-m", "pytest"]) is None
        True
    """
    from mathft_jax import cli_help
    args = list(orig_argv[1:])
    while args:
        arg = args.pop(0)
        if arg in ("-X", "-W"):  # interpreter options with a separate value
            args = args[1:]
            continue
        if arg == "-m" and args:
            module = args[0]
        elif arg.startswith("-m") and len(arg) > 2:
            module = arg[2:]
        elif arg.startswith("-") and arg not in ("-", "-c") and not arg.startswith("-c"):
            continue
        else:
            return None  # a script or `-c`: the arguments after it are the program's
        prefix, _, entry = module.partition(".")
        return entry if prefix == PACKAGE and entry in cli_help.ENTRY_POINTS else None
    return None


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def accelerator_plugin_installed() -> bool:
    """Whether a JAX accelerator backend (CUDA, ROCm, TPU, Metal) is installed."""
    if importlib.util.find_spec("jax_plugins") is not None:
        return True
    for dist in importlib.metadata.distributions():
        name = _normalised(dist.metadata.get("Name") or "")
        if name.startswith(ACCELERATOR_DISTRIBUTIONS):
            return True
        if name == "jaxlib" and "cuda" in (dist.version or ""):
            return True  # old jaxlib wheels with CUDA built in
    return False


def quiet_environment(environ: MutableMapping[str, str],
                      has_accelerator: Optional[bool] = None) -> dict[str, str]:
    """Sets the quiet defaults in `environ` where unset; returns what it set.

    Args:
      environ: usually `os.environ` (read by TensorFlow and JAX when they are imported).
      has_accelerator: whether a JAX accelerator plugin is installed (None: look).
    """
    wanted = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    if "JAX_PLATFORMS" not in environ and "JAX_PLATFORM_NAME" not in environ:
        if not (accelerator_plugin_installed() if has_accelerator is None
                else has_accelerator):
            wanted["JAX_PLATFORMS"] = "cpu"
    changed = {k: v for k, v in wanted.items() if k not in environ}
    environ.update(changed)
    _absl_warnings_only()
    return changed


def _absl_warnings_only() -> None:
    """absl's Python logger at WARNING (Orbax and others log INFO through it).

    Through `absl.logging` itself: creating the "absl" logger with `logging.getLogger` before
    absl is imported would leave absl a plain Logger instead of its own class.
    """
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.set_verbosity(absl_logging.WARNING)


class StderrFilter:
    """Drops NOISE lines written to file descriptor 2 by anything in the process.

    fd 2 is replaced by a pipe; a daemon thread reads it and writes every other byte to the
    original stderr, in order. A partial line (a tqdm bar's '\\r' updates) is passed on at
    once unless it may start a NOISE line. `stop()` (also run at exit, and by
    `gin_utils.run_main` before `os._exit`) restores fd 2 and passes on what is left.
    """

    def __init__(self, fd: int = 2):
        self._fd = fd
        self._original: Optional[int] = None
        self._write_end: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self._wake: tuple[int, int] = (-1, -1)  # written to by `stop`

    def start(self) -> None:
        """Routes fd 2 through the filter (idempotent)."""
        if self._thread is not None:
            return
        _flush_std_streams()
        self._original = os.dup(self._fd)
        _keep_terminal_size(self._original)
        read_end, self._write_end = os.pipe()
        self._wake = os.pipe()
        os.dup2(self._write_end, self._fd)
        self._thread = threading.Thread(target=self._pump, args=(read_end,),
                                        name="mathft-stderr-filter", daemon=True)
        self._thread.start()
        try:
            import faulthandler
            faulthandler.enable(file=self._original)  # a crash report must not be lost
        except (ValueError, OSError):
            pass

    def stop(self, timeout: float = 2.0) -> None:
        """Restores fd 2 and waits (up to `timeout` s) until the pipe is passed on."""
        if self._thread is None:
            return
        _flush_std_streams()
        os.dup2(self._original, self._fd)
        os.close(self._write_end)
        os.write(self._wake[1], b"x")  # quick: an `os._exit` follows, other threads race it
        self._thread.join(timeout)
        self._thread = None
        for fd in self._wake:
            os.close(fd)

    def _pump(self, read_end: int) -> None:
        pending = b""
        while True:
            try:
                ready, _, _ = select.select([read_end, self._wake[0]], [], [])
                # Stopped and drained: a child process holding the pipe open (a worker)
                # must not keep the exit waiting for an end of file.
                if read_end not in ready:
                    break
                chunk = os.read(read_end, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            passed, pending = filter_chunk(pending + chunk)
            _write_all(self._original, passed)
        _write_all(self._original, pending)
        os.close(read_end)


def filter_chunk(data: bytes) -> tuple[bytes, bytes]:
    """(bytes to pass on, bytes to hold) for stderr `data`: whole NOISE lines dropped.

    Example:
        >>> filter_chunk(b"kept\\nnormalizer.cc(51) LOG(INFO) precompiled_charsmap is empty. "
        ...              b"use identity normalization.\\n\\r 40%|")
        (b'kept\\n\\r 40%|', b'')
    """
    lines = data.split(b"\n")
    tail = lines.pop()
    out = [line + b"\n" for line in lines
           if not NOISE.search(line.decode("utf-8", "replace"))]
    hold = _MAYBE_NOISE.match(tail.decode("utf-8", "replace")) is not None
    if not hold:
        out.append(tail)
    return b"".join(out), tail if hold else b""


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:
            return


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _keep_terminal_size(fd: int) -> None:
    """Lets progress bars size themselves for the terminal fd 2 no longer points at."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return
    os.environ.setdefault("COLUMNS", str(size.columns))
    os.environ.setdefault("LINES", str(size.lines))


_ACTIVE: Optional[StderrFilter] = None


def stop_filter() -> None:
    """Stops the process's stderr filter, if one runs (before `os._exit`)."""
    global _ACTIVE
    if _ACTIVE is not None:
        active, _ACTIVE = _ACTIVE, None
        active.stop()


def quiet_start(environ: MutableMapping[str, str] = os.environ) -> None:
    """Quiet defaults and the stderr filter, unless `MATHFT_QUIET=0`."""
    global _ACTIVE
    if environ.get(ENV_QUIET, "1") == "0" or _ACTIVE is not None:
        return
    quiet_environment(environ)
    _ACTIVE = StderrFilter()
    _ACTIVE.start()
    atexit.register(stop_filter)


def wants_help(args: Sequence[str]) -> bool:
    """Whether the command line asks for help (`-h` or `--help` as a whole flag)."""
    from mathft_jax import cli_help
    return any(arg in cli_help.HELP_FLAGS for arg in args)


def on_entry_point(orig_argv: Optional[Sequence[str]] = None,
                   args: Optional[Sequence[str]] = None,
                   environ: Optional[Mapping[str, str]] = None) -> None:
    """Start-up of `python -m mathft_jax.<entry>` (see the module docstring).

    Prints the help and exits 0 when asked for it; otherwise quiets the logs. Does nothing
    when the process is not an entry point.
    """
    entry = entry_point(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv)
    if entry is None:
        return
    if wants_help(sys.argv[1:] if args is None else args):
        from mathft_jax import cli_help
        sys.stdout.write(cli_help.format_help(entry))
        sys.stdout.flush()
        raise SystemExit(0)
    quiet_start(os.environ if environ is None else environ)
