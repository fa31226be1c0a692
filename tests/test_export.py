"""python -m mathft_jax.export: Orbax params-only + HF safetensors that import back exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax import export as export_module
from mathft_jax.errors import ConfigError
from mathft_jax.models import Decoder, pretrained, safetensors_io
from mathft_jax.training import checkpoints
from tests.models.test_gguf_import import TINY_GEMMA, TOKENS, random_params, write_tiny_gguf
from tests import kit

REPO = Path(__file__).resolve().parents[1]


def _logits(config, params):
    return np.asarray(Decoder(config).apply({"params": params}, jnp.asarray(TOKENS)))


def _restore(path, like):
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    target = jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), like)
    return checkpoints.restore_params(path, target)


def test_export_cli_from_gguf(tmp_path):
    gguf_path = tmp_path / "tiny.gguf"
    write_tiny_gguf(gguf_path, TINY_GEMMA, random_params(TINY_GEMMA, seed=21), "gemma3")
    out = tmp_path / "export"
    env = {**os.environ, "MATHFT_CACHE": str(tmp_path / "cache"), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-m", "mathft_jax.export", "--gin_file=gin_configs/runs/export.gin",
         f"--gin.OUTPUT_DIR='{out}'", f"--gin.PRETRAINED='{gguf_path}'"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["version"] == 1 and manifest["dtype"] == "float32"
    assert manifest["bos_id"] == 2 and "hf/tokenizer.model" in manifest["files"]

    ref = pretrained.load_pretrained(str(gguf_path), cache_dir=tmp_path / "cache")
    expected = _logits(ref.config, ref.params)
    config, hf_params = safetensors_io.load_safetensors(out / "hf")
    assert config == ref.config
    np.testing.assert_array_equal(_logits(config, hf_params), expected)
    restored = _restore(out / "params", ref.params)
    np.testing.assert_array_equal(_logits(ref.config, restored), expected)


def test_export_checkpoint_bfloat16(tmp_path):
    params = random_params(TINY_GEMMA, seed=22)
    checkpoints.export_params(tmp_path / "run_params", params)
    manifest = export_module.export(output_dir=str(tmp_path / "out"),
                                    checkpoint=str(tmp_path / "run_params"),
                                    model_config=TINY_GEMMA, dtype="bfloat16")
    assert manifest["formats"] == ["orbax", "safetensors"] and manifest["bos_id"] is None
    bf16 = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.bfloat16), params)
    restored = _restore(tmp_path / "out" / "params", bf16)
    jax.tree_util.tree_map(np.testing.assert_array_equal, restored, bf16)
    hf = json.loads((tmp_path / "out" / "hf" / "config.json").read_text())
    assert hf["torch_dtype"] == "bfloat16"


def test_export_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="exactly one"):
        export_module.export(output_dir=str(tmp_path), pretrained="x", checkpoint="y")
    with pytest.raises(ConfigError, match="formats"):
        export_module.export(output_dir=str(tmp_path), pretrained="x", formats=("onnx",))
    with pytest.raises(ConfigError, match="model_config"):
        export_module.export(output_dir=str(tmp_path), checkpoint=str(tmp_path))


def test_a_second_export_into_a_held_folder_is_refused_and_a_stale_lock_taken_over(
        tmp_path, capfd):
    """Two processes on one OUTPUT_DIR: this one holds it, the CLI export is refused with one
    line before loading anything; then a killed holder's lock is taken over."""
    from mathft_jax.training import run_lock
    from tests import cli
    gguf_path = tmp_path / "tiny.gguf"
    write_tiny_gguf(gguf_path, TINY_GEMMA, random_params(TINY_GEMMA, seed=21), "gemma3")
    out = tmp_path / "export"

    @run_lock.releases_locks
    def other_export():
        run_lock.hold_output(out, "export.output_dir", folder=True,
                             lock_name=run_lock.EXPORT_LOCK_FILE)
        return cli.run("export", "--gin_file=gin_configs/runs/export.gin",
                       f"--gin.OUTPUT_DIR='{out}'", f"--gin.PRETRAINED='{gguf_path}'")

    line = cli.one_error_line(other_export())
    assert line.startswith(f"error: {out} is in use by another run (pid {os.getpid()} on ")
    assert line.endswith("choose another export.output_dir")
    assert not out.exists()  # the holder's clean end removed the folder it created

    kit.kill_holding_lock(out, "export.output_dir", lock_name="export.lock")
    capfd.readouterr()
    checkpoints.export_params(tmp_path / "run_params", random_params(TINY_GEMMA, seed=22))
    export_module.export(output_dir=str(out), checkpoint=str(tmp_path / "run_params"),
                         model_config=TINY_GEMMA, formats=("orbax",))
    assert f"{out / 'export.lock'} was left by a run that did not finish" in \
        capfd.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "params"]
