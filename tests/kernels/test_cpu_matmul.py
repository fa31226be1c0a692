"""The CPU decode matmul kernels: same results as XLA's dot, used only where they apply."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding import decode_loop, generate
from mathft_jax.kernels import cpu_matmul
from mathft_jax.kernels.native_build import cpu_flags, find_compiler
from mathft_jax.models import Decoder
from tests import kit

# Without AVX-512F the kernels never build (an optional skip); anywhere else a skip means the
# build broke or no compiler was found, which CI turns into a failure.
needs_kernels = pytest.mark.skipif(
    not cpu_matmul.kernels_enabled(),
    reason=("optional: " if "avx512f" not in cpu_flags() else "")
    + f"CPU kernels not built here: {cpu_matmul.describe()}")


def _hlo(fn, *args) -> str:
    return jax.jit(fn).lower(*args).as_text()


def _random(rng, shape, scale=1.0):
    return jnp.asarray(rng.standard_normal(shape).astype(np.float32) * scale)


def test_kernels_build_on_a_machine_that_can_run_them():
    """Guards the skips below: on an AVX-512 x86 CPU with a compiler, the build must work."""
    if "avx512f" not in cpu_flags():
        pytest.skip("optional: not an AVX-512 machine")
    if find_compiler() is None:
        pytest.skip("no C++ compiler on this machine")
    assert cpu_matmul.kernels_enabled(), cpu_matmul.describe()


# op -> (FFI target, operands of an [a, k] x [k, c]-shaped product, the XLA result).
KERNEL_OPS = {
    "rows_dot_t": ("mathft_rows_dot_t", lambda a, k, c: ((a, k), (c, k)),
                   lambda w, x: jnp.dot(w, x.T, precision="highest")),
    "skinny_matmul": ("mathft_skinny_matmul", lambda a, k, c: ((a, k), (k, c)),
                      lambda x, w: jnp.dot(x, w, precision="highest")),
}


@needs_kernels
@pytest.mark.parametrize("name,a,k,c", [
    # rows_dot_t: a = M rows of w, c = B rows of x
    ("rows_dot_t", 262, 64, 32), ("rows_dot_t", 1001, 37, 17), ("rows_dot_t", 24, 640, 16),
    ("rows_dot_t", 25, 8, 2), ("rows_dot_t", 13, 100, 5), ("rows_dot_t", 48, 3, 32),
    ("rows_dot_t", 7, 65, 31),
    # skinny_matmul: a = B rows of x, c = N columns of w
    ("skinny_matmul", 32, 640, 2048), ("skinny_matmul", 32, 130, 100),
    ("skinny_matmul", 17, 64, 48), ("skinny_matmul", 2, 9, 7), ("skinny_matmul", 8, 200, 16),
    ("skinny_matmul", 31, 65, 97), ("skinny_matmul", 3, 1, 300)])
def test_kernels_match_xla(name, a, k, c):
    target, shapes, reference = KERNEL_OPS[name]
    op = getattr(cpu_matmul, name)
    rng = np.random.default_rng(a * k + c)
    operands = tuple(_random(rng, shape) for shape in shapes(a, k, c))
    want = reference(*operands)
    assert target in _hlo(op, *operands)
    got = jax.jit(op)(*operands)
    assert got.shape == want.shape and got.dtype == jnp.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(k))


@needs_kernels
def test_kernels_stay_out_where_they_do_not_apply(monkeypatch):
    rng = np.random.default_rng(0)
    few, w = _random(rng, (4, 16)), _random(rng, (16, 8))
    many = _random(rng, (cpu_matmul.MAX_ROWS + 1, 16))
    assert "mathft_" not in _hlo(cpu_matmul.skinny_matmul, many, w)
    assert "mathft_" not in _hlo(cpu_matmul.skinny_matmul, few[:1], w)
    assert "mathft_" not in _hlo(cpu_matmul.rows_dot_t, w.T, many)
    assert "mathft_" not in _hlo(cpu_matmul.skinny_matmul, few.astype(jnp.bfloat16),
                                 w.astype(jnp.bfloat16))
    monkeypatch.setenv(cpu_matmul.ENV_SWITCH, "0")
    assert "mathft_" not in _hlo(cpu_matmul.skinny_matmul, few, w)
    assert "off" in cpu_matmul.describe()
    np.testing.assert_allclose(jax.jit(cpu_matmul.skinny_matmul)(few, w),
                               jnp.dot(few, w, precision="highest"), rtol=1e-5, atol=1e-5)


@needs_kernels
def test_gradients_match_xla():
    rng = np.random.default_rng(1)
    x, w, e = _random(rng, (6, 20)), _random(rng, (20, 30)), _random(rng, (50, 20))

    def loss(x, w, e, matmul, head):
        h = jnp.tanh(matmul(x, w))[:, :20]
        return jnp.sum(head(e, h) ** 2)

    kernel = lambda x, w, e: loss(x, w, e, cpu_matmul.skinny_matmul, cpu_matmul.rows_dot_t)
    plain = lambda x, w, e: loss(x, w, e, lambda a, b: jnp.dot(a, b, precision="highest"),
                                 lambda a, b: jnp.dot(a, b.T, precision="highest"))
    for got, want in zip(jax.grad(kernel, (0, 1, 2))(x, w, e), jax.grad(plain, (0, 1, 2))(x, w, e)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@needs_kernels
def test_decoding_with_and_without_kernels_agrees(monkeypatch):
    cfg = kit.tiny_config(vocab_size=300, embed_dim=48, mlp_dim=96, num_heads=2,
                          num_kv_heads=1)
    params = jax.tree.map(lambda p: p * 4, Decoder(cfg).init(
        jax.random.PRNGKey(3), jnp.zeros((1, 4), jnp.int32))["params"])  # peaked logits
    params = jax.tree.map(lambda p: getattr(p, "value", p), params,
                          is_leaf=lambda p: hasattr(p, "value"))
    prompts = [[5, 6, 7], [9], [1, 2, 3, 4, 5, 6], [8, 8]] * 3
    with_kernels = generate(params, cfg, prompts, max_new_tokens=12, eos_id=None)
    monkeypatch.setenv(cpu_matmul.ENV_SWITCH, "0")
    # The switch is read when the decode loop is traced: drop what was compiled with kernels.
    decode_loop._compiled_decode.cache_clear()
    jax.clear_caches()
    without = generate(params, cfg, prompts, max_new_tokens=12, eos_id=None)
    np.testing.assert_array_equal(with_kernels.tokens, without.tokens)
    np.testing.assert_allclose(with_kernels.logprobs, without.logprobs, atol=1e-4)


@needs_kernels
def test_decoder_head_uses_the_kernel_only_on_the_stored_embedding():
    """The [V, B] head reads the embedding as stored; the [B, V] head would hand the kernel a
    transposed view, which XLA would first copy whole (150 ms for Gemma 3 270M)."""
    cfg = kit.tiny_config(vocab_size=100, num_layers=1, embed_dim=16, mlp_dim=32, num_heads=2,
                          num_kv_heads=1, head_dim=8)
    model = Decoder(cfg)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32))["params"]
    x = jnp.ones((4, 16))
    major = _hlo(lambda p, x: model.apply({"params": p}, x, vocab_major=True, method="logits"),
                 params, x)
    minor = _hlo(lambda p, x: model.apply({"params": p}, x[:, None], method="logits"), params, x)
    assert "mathft_rows_dot_t" in major
    assert "mathft_" not in minor
