"""Where mathft_jax keeps what it builds once and reuses: converted weights, trained
vocabularies, compiled CPU kernels."""
import os
from pathlib import Path
from typing import Optional

ENV_CACHE = "MATHFT_CACHE"


def cache_root(cache_dir: Optional[str | os.PathLike] = None) -> Path:
    """`cache_dir`, else `$MATHFT_CACHE`, else `~/.cache/mathft_jax`."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "mathft_jax")
