import json
import os

import jax
import numpy as np
import pytest

from mathft_jax import partitioning
from mathft_jax.training import checkpoints, optimizers, train_state
from tests.training.helpers import TINY


@pytest.fixture(scope="module")
def setup():
    mesh = partitioning.make_mesh()
    opt = optimizers.make_optimizer(optimizers.make_schedule(10))
    abstract, shardings = train_state.state_shardings(TINY, opt, mesh)
    state = train_state.init_train_state(TINY, opt, mesh, jax.random.key(0), shardings)
    return state, train_state.with_shardings(abstract, shardings)


def _equal(a, b):
    return all(jax.tree_util.tree_leaves(jax.tree_util.tree_map(
        lambda x, y: np.array_equal(np.asarray(x), np.asarray(y)), a, b)))


def test_periodic_keep_n_and_roundtrip(tmp_path, setup):
    state, target = setup
    ckpt = checkpoints.RunCheckpoints(tmp_path, save_every=2, keep=2)
    for step in range(1, 8):
        s = state.replace(step=np.int32(step))
        ckpt.save(s, {"batches_consumed": step, "seed": 0}, force=step == 7)
    ckpt.wait()
    assert ckpt.all_steps() == [6, 7]
    restored, meta = ckpt.restore(7, target)
    ckpt.close()
    assert meta == {"version": 1, "step": 7, "batches_consumed": 7, "seed": 0}
    assert int(restored.step) == 7
    assert _equal(restored.params, state.params)
    assert _equal(restored.opt_state, state.opt_state)
    leaf = jax.tree_util.tree_leaves(restored.params)[0]
    assert leaf.sharding == jax.tree_util.tree_leaves(target.params)[0].sharding


def test_interrupted_save_is_never_latest(tmp_path, setup):
    """A step folder that orbax had not finalized (the state a crash mid-save leaves) is
    ignored by latest_step and removed by the next manager."""
    state, target = setup
    ckpt = checkpoints.RunCheckpoints(tmp_path, save_every=1)
    ckpt.save(state.replace(step=np.int32(2)), {"batches_consumed": 2, "seed": 0})
    ckpt.close()
    partial = tmp_path / "checkpoints" / "4.orbax-checkpoint-tmp-1234"
    (partial / "params").mkdir(parents=True)
    (partial / "params" / "garbage").write_bytes(b"\0" * 10)
    ckpt = checkpoints.RunCheckpoints(tmp_path, save_every=1)
    assert ckpt.latest_step() == 2 and ckpt.all_steps() == [2]
    restored, meta = ckpt.restore(2, target)
    assert meta["batches_consumed"] == 2
    ckpt.close()  # the clean-up runs in the background; close waits for it
    assert not partial.exists()


def test_restore_params_sources_and_errors(tmp_path, setup):
    state, target = setup
    checkpoints.export_params(tmp_path / "export", state.params)
    assert _equal(checkpoints.restore_params(tmp_path / "export", target.params), state.params)
    with pytest.raises(checkpoints.CheckpointError, match="no params checkpoint found"):
        checkpoints.restore_params(tmp_path / "nowhere", target.params)


def test_restore_into_the_other_layer_layout_names_scan_layers(tmp_path):
    import dataclasses

    import flax.linen as nn
    import jax.numpy as jnp

    from mathft_jax.models import Decoder

    def init(cfg):
        return nn.meta.unbox(Decoder(cfg).init(jax.random.key(0),
                                               jnp.zeros((1, 4), jnp.int32))["params"])

    scanned = dataclasses.replace(TINY, scan_layers=True)
    unrolled = dataclasses.replace(TINY, scan_layers=False)
    checkpoints.export_params(tmp_path / "scanned", init(scanned))
    target = jax.tree_util.tree_map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), init(unrolled))
    with pytest.raises(checkpoints.CheckpointError,
                       match=r"set ModelConfig.scan_layers = True.*blocks_0/"):
        checkpoints.restore_params(tmp_path / "scanned", target)


FINGERPRINT = {"seed": 0, "task": "t", "schedule": {"peak_value": 1e-3, "total_steps": 10}}


def _saved_steps(directory, state, steps=(2, 4), keep: int = 5, **run_checkpoints_kw):
    """Saves `state` at each of `steps` (forced, synchronously) into `directory`."""
    ckpt = checkpoints.RunCheckpoints(directory, save_every=1, keep=keep, async_save=False,
                                      **run_checkpoints_kw)
    for step in steps:
        ckpt.save(state.replace(step=np.int32(step)),
                  {"batches_consumed": step, "seed": 0, "fingerprint": FINGERPRINT}, force=True)
    ckpt.close()


def _truncate_arrays(step_dir):
    for f in (step_dir / "params").rglob("*"):
        if f.is_file() and f.parent.name == "d":
            os.truncate(f, 10)


def _truncate_meta(step_dir):
    os.truncate(step_dir / "meta" / "metadata", 20)


def _flip_bytes(path, count: int = 16) -> None:
    """Inverts `count` bytes in the middle of a file: same size, still parseable."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + count] = bytes(b ^ 0xFF for b in data[middle:middle + count])
    path.write_bytes(bytes(data))


def _flip_largest_array_file(step_dir, item="params"):
    """Damages the largest data file of an item (OCDBT keeps the arrays in process_*/d/)."""
    files = [f for f in (step_dir / item).glob("ocdbt.process_*/d/*") if f.is_file()]
    _flip_bytes(max(files, key=lambda f: f.stat().st_size))


def _trained_moments(state):
    """The state with random optimizer moments, as after training (a fresh optimizer's zeros
    compress to a few bytes)."""
    noise = lambda x: (jax.device_put(np.random.default_rng(x.size).standard_normal(
        x.shape).astype(x.dtype), x.sharding) if np.issubdtype(x.dtype, np.floating) else x)
    return state.replace(opt_state=jax.tree_util.tree_map(noise, state.opt_state))


@pytest.mark.parametrize("damage, reason", [(_truncate_arrays, "OUT_OF_RANGE"),
                                            (_truncate_meta, "Unterminated string"),
                                            (_flip_largest_array_file, "checksum mismatch")])
def test_a_damaged_newest_step_is_set_aside_and_the_previous_one_restored(
        tmp_path, setup, capfd, damage, reason):
    state, target = setup
    _saved_steps(tmp_path, state)
    damage(tmp_path / "checkpoints" / "4")
    ckpt = checkpoints.RunCheckpoints(tmp_path, save_every=1)
    restored, meta = ckpt.restore_latest(target, FINGERPRINT)
    assert meta["step"] == 2 and int(restored.step) == 2
    assert _equal(restored.params, state.params)
    assert ckpt.all_steps() == [2]
    ckpt.close()
    err = capfd.readouterr().err
    assert f"checkpoint step 4 in {tmp_path / 'checkpoints'} is broken" in err
    assert reason in err and f"moved it to {tmp_path / 'broken_checkpoints' / '4'}" in err
    assert (tmp_path / "broken_checkpoints" / "4" / "params").is_dir()  # kept, not deleted


def test_resume_under_other_settings_is_refused_naming_them_unless_allowed(tmp_path, setup,
                                                                            capfd):
    state, target = setup
    _saved_steps(tmp_path, state, steps=(2,))
    other = {**FINGERPRINT, "seed": 1, "schedule": {"peak_value": 3e-3, "total_steps": 10}}
    ckpt = checkpoints.RunCheckpoints(tmp_path)
    with pytest.raises(checkpoints.CheckpointError,
                       match=r"other settings \(schedule.peak_value: 0.001 -> 0.003; "
                             r"seed: 0 -> 1\).*allow_changed_settings"):
        ckpt.restore_latest(target, other)
    # The refusal released the folder and set nothing aside.
    ckpt = checkpoints.RunCheckpoints(tmp_path)
    restored, meta = ckpt.restore_latest(target, other, allow_changed_settings=True)
    ckpt.close()
    assert meta["step"] == 2 and not (tmp_path / "broken_checkpoints").exists()
    assert "resuming" in capfd.readouterr().err


def test_restore_into_another_preset_says_the_presets_differ(tmp_path):
    import dataclasses

    import flax.linen as nn
    import jax.numpy as jnp

    from mathft_jax.models import Decoder

    def init(cfg):
        return nn.meta.unbox(Decoder(cfg).init(jax.random.key(0),
                                               jnp.zeros((1, 4), jnp.int32))["params"])

    checkpoints.export_params(tmp_path / "tiny", init(TINY))
    wider = dataclasses.replace(TINY, embed_dim=96)
    target = jax.tree_util.tree_map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), init(wider))
    with pytest.raises(checkpoints.CheckpointError,
                       match=r"written for another model preset: \d+ parameters differ in "
                             r"shape, e.g. .*\(256, 64\) in the checkpoint vs \(256, 96\)"):
        checkpoints.restore_params(tmp_path / "tiny", target)


def _tree_bytes(folder) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_a_params_only_final_step_is_a_third_and_still_a_params_source(tmp_path, setup):
    """final_params_only: Orbax writes the last step without its opt_state item; the step is
    what restore_params and params_source read, and restore_latest hands it back as a
    finished run's (opt_state None) or refuses to resume training from it."""
    from mathft_jax import params_source
    state, target = setup
    state = _trained_moments(state)  # a fresh optimizer's zero moments compress to nothing
    full, slim = tmp_path / "full", tmp_path / "slim"
    for folder, params_only in ((full, False), (slim, True)):
        _saved_steps(folder, state, keep=1, final_step=4, final_params_only=params_only)
    step_dir = slim / "checkpoints" / "4"
    assert sorted(p.name for p in step_dir.iterdir() if p.is_dir()) == ["meta", "params"]
    assert "opt_state" not in (step_dir / "_CHECKPOINT_METADATA").read_text()
    assert (full / "checkpoints" / "4" / "opt_state").is_dir()
    # AdamW keeps two moments per parameter: the params-only step is about a third.
    ratio = _tree_bytes(slim) / _tree_bytes(full)
    assert 0.2 < ratio < 0.45, ratio

    assert _equal(checkpoints.restore_params(slim, target.params), state.params)
    assert _equal(checkpoints.restore_params(step_dir, target.params), state.params)
    loaded = params_source.load_params(TINY, str(slim), partitioning.make_mesh())
    assert _equal(loaded.params, state.params) and loaded.bos_id is None

    ckpt = checkpoints.RunCheckpoints(slim, final_step=4)
    restored, meta = ckpt.restore_latest(target, FINGERPRINT)
    ckpt.close()
    assert int(restored.step) == 4 and restored.opt_state is None
    assert meta["optimizer_state"] is False and checkpoints.is_params_only(meta)
    assert _equal(restored.params, state.params)

    ckpt = checkpoints.RunCheckpoints(slim, final_step=6)
    with pytest.raises(checkpoints.CheckpointError,
                       match=r"checkpoints/4 holds params only .* cannot be resumed to step 6"):
        ckpt.restore_latest(target, FINGERPRINT)
    # Refused, not taken for damage: nothing set aside, and the folder was released.
    assert not (slim / "broken_checkpoints").exists() and step_dir.is_dir()
    checkpoints.RunCheckpoints(slim).close()


def test_flipped_bytes_name_the_array_and_fall_back_for_full_and_params_only_steps(
        tmp_path, setup, capfd):
    """Same-size damage inside an array file (Orbax reads it without complaint) is caught by
    the checksums written at save: one line naming the array, and the step is set aside like
    a truncated one; a params-only final step is covered too, through restore_latest and
    restore_params alike."""
    state, target = setup
    state = _trained_moments(state)
    for item, params_only in (("params", False), ("opt_state", False), ("params", True)):
        folder = tmp_path / f"{item}_{params_only}"
        _saved_steps(folder, state, final_step=4, final_params_only=params_only)
        step_dir = folder / "checkpoints" / "4"
        meta = json.loads((step_dir / checkpoints.META_FILE).read_text())
        assert set(meta[checkpoints.CHECKSUMS_KEY]) == (
            {"params"} if params_only else {"params", "opt_state"})
        _flip_largest_array_file(step_dir, item)
        if params_only:
            with pytest.raises(checkpoints.CheckpointError,
                               match=rf"^{step_dir / 'params'}/\S+: checksum mismatch "
                                     rf"\(crc32 [0-9a-f]{{8}} at save, [0-9a-f]{{8}} read back\)"):
                checkpoints.restore_params(folder, target.params)
        capfd.readouterr()
        ckpt = checkpoints.RunCheckpoints(folder, save_every=1, final_step=4)
        restored, meta = ckpt.restore_latest(target, FINGERPRINT)
        ckpt.close()
        assert meta["step"] == 2 and int(restored.step) == 2
        assert checkpoints.CHECKSUMS_KEY not in meta
        assert _equal(restored.params, state.params)
        if not params_only:
            assert _equal(restored.opt_state, state.opt_state)
        err = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and err[0].startswith(
            f"warning: checkpoint step 4 in {folder / 'checkpoints'} is broken ("
            f"{step_dir / item}/"), err
        assert "checksum mismatch" in err[0]
        assert (folder / "broken_checkpoints" / "4" / item).is_dir()


def test_checksums_name_each_array_and_a_clean_step_restores_unchanged(tmp_path, setup):
    state, target = setup
    _saved_steps(tmp_path, state, steps=(2,))
    ckpt = checkpoints.RunCheckpoints(tmp_path)
    sums = ckpt.read_meta(2)[checkpoints.CHECKSUMS_KEY]
    names = {checkpoints._leaf_name(p) for p, _ in
             jax.tree_util.tree_flatten_with_path(state.params)[0]}
    assert set(sums["params"]) == names and "embedding" in names
    assert any(n.count("/") >= 2 for n in names)  # nested paths, joined with '/'
    crc, dtype, shape = sums["params"][sorted(names)[0]]
    assert len(crc) == 8 and dtype == "float32" and shape
    restored, _ = ckpt.restore_latest(target, FINGERPRINT)
    ckpt.close()
    assert _equal(restored.opt_state, state.opt_state)
