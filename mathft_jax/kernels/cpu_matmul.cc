// Small-batch float32 matmuls for decoding on x86 CPUs with AVX-512, as XLA FFI handlers.
//
// A decode step multiplies a few activation rows (the batch) by every weight of the model.
// XLA CPU's GEMM runs those skinny shapes at about half of this machine's square-matmul peak
// (Gemma 3 270M's output head, [262144, 640] x [640, 32], at ~250 GFLOP/s of ~500); these two
// kernels keep the weights streaming through FMA units at close to peak:
//
//   mathft_rows_dot_t:  out[M, B] = w[M, K] . x[B, K]^T   (output head, vocabulary-major)
//   mathft_skinny_matmul: y[B, N] = x[B, K] . w[K, N]     (every dense layer of a step)
//
// Each output tile lives in registers for the whole K loop, so every weight is read from
// memory once per call. Work is split over XLA's own intra-op thread pool (no threads of our
// own), in chunks handed out by an atomic counter so that the calling thread can finish all
// of them alone if no pool thread ever starts.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>

#include "xla/ffi/api/ffi.h"

#ifndef __AVX512F__
#error "mathft_jax's CPU matmul kernels need AVX-512F (compile with -march=native on such a CPU)"
#endif

namespace ffi = xla::ffi;

namespace {

// Runs body(i) for every i in [0, n), on the calling thread and on pool tasks.
template <typename Body>
void ParallelFor(ffi::ThreadPool& pool, int64_t n, const Body& body) {
  struct Progress {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
  };
  auto progress = std::make_shared<Progress>();
  // A task that starts after every chunk is claimed touches only `progress`, which it owns a
  // share of; `body` (a reference into this frame) is used only for chunks it claims, and a
  // chunk can be claimed only before the caller's wait below ends.
  auto drain = [progress, n, &body]() {
    for (int64_t i; (i = progress->next.fetch_add(1)) < n;) {
      body(i);
      progress->done.fetch_add(1, std::memory_order_release);
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), n) - 1;
  for (int64_t t = 0; t < helpers; ++t) pool.Schedule([drain]() { drain(); });
  drain();
  while (progress->done.load(std::memory_order_acquire) < n) std::this_thread::yield();
}

__mmask16 TailMask(int64_t lanes) {
  return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1);
}

// acc[r][c] += rows[r * stride + k] * v[c]: one step of K for a tile whose kRows broadcast
// operands sit `stride` floats apart (rows of w in the head, rows of x in the dense layers).
template <int kRows, int kVecs>
__attribute__((always_inline)) inline void RankOneUpdate(__m512 (&acc)[kRows][kVecs],
                                                         const float* rows, int64_t stride,
                                                         int64_t k, const __m512 (&v)[kVecs]) {
  #pragma GCC unroll 32
  for (int r = 0; r < kRows; ++r) {
    const __m512 broadcast = _mm512_set1_ps(rows[r * stride + k]);
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c) acc[r][c] = _mm512_fmadd_ps(broadcast, v[c], acc[r][c]);
  }
}

// ---- out[M, B] = w[M, K] . x[B, K]^T -------------------------------------------------------

// kRows rows of w against all B (<= 16 * kVecs) columns; xt is x transposed and zero-padded
// to [K, 16 * kVecs].
template <int kVecs, int kRows>
void RowsDotTile(const float* w, const float* xt, float* out, int64_t row0, int64_t K,
                 int64_t B) {
  __m512 acc[kRows][kVecs];
  #pragma GCC unroll 32
  for (int r = 0; r < kRows; ++r)
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c) acc[r][c] = _mm512_setzero_ps();
  const float* wr = w + row0 * K;
  // The tile's kRows rows are one contiguous block, read here a column at a time; fetching
  // the next tile's block (the same size) in step keeps the weight stream ahead of the FMAs.
  const char* next = reinterpret_cast<const char*>(wr + kRows * K);
  for (int64_t k = 0; k < K; ++k) {
    _mm_prefetch(next + k * kRows * sizeof(float), _MM_HINT_T0);
    __m512 xv[kVecs];
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c) xv[c] = _mm512_load_ps(xt + (k * kVecs + c) * 16);
    RankOneUpdate(acc, wr, K, k, xv);
  }
  #pragma GCC unroll 32
  for (int r = 0; r < kRows; ++r)
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c)
      _mm512_mask_storeu_ps(out + (row0 + r) * B + c * 16, TailMask(B - c * 16), acc[r][c]);
}

template <int kVecs>
void RowsDot(ffi::ThreadPool& pool, const float* w, const float* x, float* out, int64_t M,
             int64_t K, int64_t B) {
  // 2 x 12 or 1 x 24 accumulators: enough independent FMAs to hide their latency, with
  // registers left for the x vectors and the broadcast weight.
  constexpr int kRows = kVecs == 2 ? 12 : 24;
  constexpr int64_t kTilesPerChunk = 32;
  const int64_t width = 16 * kVecs;
  float* xt = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * K * width));
  std::fill(xt, xt + K * width, 0.0f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k) xt[k * width + b] = x[b * K + k];
  const int64_t tiles = M / kRows;
  const int64_t chunks = (tiles + kTilesPerChunk - 1) / kTilesPerChunk;
  ParallelFor(pool, chunks, [&](int64_t chunk) {
    const int64_t end = std::min(tiles, (chunk + 1) * kTilesPerChunk);
    for (int64_t tile = chunk * kTilesPerChunk; tile < end; ++tile)
      RowsDotTile<kVecs, kRows>(w, xt, out, tile * kRows, K, B);
  });
  for (int64_t row = tiles * kRows; row < M; ++row) RowsDotTile<kVecs, 1>(w, xt, out, row, K, B);
  std::free(xt);
}

ffi::Error RowsDotTImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> w, ffi::Buffer<ffi::F32> x,
                        ffi::ResultBuffer<ffi::F32> out) {
  const auto wd = w.dimensions(), xd = x.dimensions();
  if (wd.size() != 2 || xd.size() != 2 || wd[1] != xd[1])
    return ffi::Error::InvalidArgument("mathft_rows_dot_t: expects w [M, K] and x [B, K]");
  const int64_t M = wd[0], K = wd[1], B = xd[0];
  if (B < 1 || B > 32)
    return ffi::Error::InvalidArgument("mathft_rows_dot_t: batch must be 1..32");
  if (B <= 16)
    RowsDot<1>(pool, w.typed_data(), x.typed_data(), out->typed_data(), M, K, B);
  else
    RowsDot<2>(pool, w.typed_data(), x.typed_data(), out->typed_data(), M, K, B);
  return ffi::Error::Success();
}

// ---- y[B, N] = x[B, K] . w[K, N] -----------------------------------------------------------
//
// Work item: kChunkPanels 48-column panels of y. Within it, w is walked kBlockRows rows at a
// time, the chunk's panels in turn, with y's tile reloaded between blocks; the rows a panel
// reads next are prefetched, being N floats apart, a stride the hardware prefetcher does not
// follow. Measured on Gemma 3 270M decode steps (batch 32, weights streamed from memory): the
// prefetch took the 126 dense-layer calls of a step from 34.5 to 24.8 ms; the blocking and the
// chunk width (1, 4 or 11 panels), and splitting K between threads instead of N, changed
// little or lost. From memory these shapes stream at ~15 GB/s, about what XLA's dot does; from
// cache they run at ~450 GFLOP/s against XLA's ~280.

constexpr int kPanelVecs = 3;         // 48 output columns per panel
constexpr int kBatchRows = 8;         // 8 x 3 accumulators
constexpr int64_t kBlockRows = 64;    // rows of w per block
constexpr int64_t kChunkPanels = 1;   // columns per work item: one panel

// Rows [b0, b0 + kRowsT) of y, columns [n0, n0 + 16 * kVecs) (the last vector masked), over
// the rows [k0, k1) of w; `first` starts from zero instead of y.
template <int kRowsT, int kVecs>
void SkinnyTile(const float* x, const float* w, float* y, int64_t b0, int64_t n0, int64_t k0,
                int64_t k1, int64_t K, int64_t N, __mmask16 last, bool first) {
  __m512 acc[kRowsT][kVecs];
  #pragma GCC unroll 32
  for (int r = 0; r < kRowsT; ++r)
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c)
      acc[r][c] = first ? _mm512_setzero_ps()
                        : _mm512_maskz_loadu_ps(c == kVecs - 1 ? last : 0xFFFF,
                                                y + (b0 + r) * N + n0 + 16 * c);
  const float* xr = x + b0 * K;
  for (int64_t k = k0; k < k1; ++k) {
    // The same panel of the next block: its rows are N floats apart, a stride the hardware
    // prefetcher does not follow (a no-op when already cached; never faults past the end).
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c)
      _mm_prefetch(reinterpret_cast<const char*>(w + (k + kBlockRows) * N + n0 + 16 * c),
                   _MM_HINT_T0);
    __m512 wv[kVecs];
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c)
      wv[c] = _mm512_maskz_loadu_ps(c == kVecs - 1 ? last : 0xFFFF, w + k * N + n0 + 16 * c);
    RankOneUpdate(acc, xr, K, k, wv);
  }
  #pragma GCC unroll 32
  for (int r = 0; r < kRowsT; ++r)
    #pragma GCC unroll 32
    for (int c = 0; c < kVecs; ++c)
      _mm512_mask_storeu_ps(y + (b0 + r) * N + n0 + 16 * c, c == kVecs - 1 ? last : 0xFFFF,
                            acc[r][c]);
}

template <int kVecs>
void SkinnyPanel(const float* x, const float* w, float* y, int64_t B, int64_t n0, int64_t k0,
                 int64_t k1, int64_t K, int64_t N, __mmask16 last) {
  const bool first = k0 == 0;
  int64_t b0 = 0;
  for (; b0 + kBatchRows <= B; b0 += kBatchRows)
    SkinnyTile<kBatchRows, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first);
  switch (B - b0) {  // the tile's row count must be a compile-time constant
    case 7: SkinnyTile<7, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    case 6: SkinnyTile<6, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    case 5: SkinnyTile<5, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    case 4: SkinnyTile<4, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    case 3: SkinnyTile<3, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    case 2: SkinnyTile<2, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    case 1: SkinnyTile<1, kVecs>(x, w, y, b0, n0, k0, k1, K, N, last, first); break;
    default: break;
  }
}

ffi::Error SkinnyMatmulImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x,
                            ffi::Buffer<ffi::F32> w, ffi::ResultBuffer<ffi::F32> y) {
  const auto xd = x.dimensions(), wd = w.dimensions();
  if (xd.size() != 2 || wd.size() != 2 || xd[1] != wd[0])
    return ffi::Error::InvalidArgument("mathft_skinny_matmul: expects x [B, K] and w [K, N]");
  const int64_t B = xd[0], K = xd[1], N = wd[1];
  const float* xp = x.typed_data();
  const float* wp = w.typed_data();
  float* yp = y->typed_data();
  if (K == 0) {
    std::fill(yp, yp + B * N, 0.0f);
    return ffi::Error::Success();
  }
  const int64_t panel = 16 * kPanelVecs;
  const int64_t panels = (N + panel - 1) / panel;
  const int64_t chunks = (panels + kChunkPanels - 1) / kChunkPanels;
  ParallelFor(pool, chunks, [&](int64_t chunk) {
    const int64_t p_end = std::min(panels, (chunk + 1) * kChunkPanels);
    for (int64_t k0 = 0; k0 < K; k0 += kBlockRows) {
      const int64_t k1 = std::min(K, k0 + kBlockRows);
      for (int64_t p = chunk * kChunkPanels; p < p_end; ++p) {
        const int64_t n0 = p * panel;
        const int64_t cols = std::min(panel, N - n0);
        const int vecs = static_cast<int>((cols + 15) / 16);
        const __mmask16 last = TailMask(cols - 16 * (vecs - 1));
        if (vecs == 3) SkinnyPanel<3>(xp, wp, yp, B, n0, k0, k1, K, N, last);
        else if (vecs == 2) SkinnyPanel<2>(xp, wp, yp, B, n0, k0, k1, K, N, last);
        else SkinnyPanel<1>(xp, wp, yp, B, n0, k0, k1, K, N, last);
      }
    }
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(MathftRowsDotT, RowsDotTImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(MathftSkinnyMatmul, SkinnyMatmulImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
