// The AVX2 kernel set's pieces that its GEMM and its fused attention share:
// packing operands into f32 panels (eight rows by eight k at a time,
// transposed in registers) and the 6×16 register tile of FMA — 12 ymm
// accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers. B stored
// f16 or bf16 is widened as it is packed (F16C; bf16 by a shift). Internal to
// CPUKernels; include it inside an AVX2 + FMA + F16C target region (and
// <string.h> before it).
#ifndef SDGEN_MICROKERNEL_AVX2_H
#define SDGEN_MICROKERNEL_AVX2_H

#include "cpu_kernels.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

enum {
    MR2 = 6,   // rows of the register tile
    NR2 = 16,  // columns: two ymm of 8 lanes
};

/// Up to 8 consecutive elements of one row widened to f32; lanes past `count`
/// are zero. Short runs (the ragged end of k or of a panel) go through a
/// zeroed copy: AVX2 has no masked 16-bit loads.
static inline __m256 load8(const void *row, sdgen_gemm_dtype type, int count) {
    const size_t size = type == SDGEN_GEMM_F32 ? 4 : 2;
    uint8_t staged[32];
    if (count < 8) {
        memset(staged, 0, sizeof staged);
        if (count > 0) memcpy(staged, row, (size_t)count * size);
        row = staged;
    }
    switch (type) {
    case SDGEN_GEMM_F32: return _mm256_loadu_ps(row);
    case SDGEN_GEMM_F16: return _mm256_cvtph_ps(_mm_loadu_si128(row));
    default: return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(row)), 16));
    }
}

/// Stores the first `n` (≤ 8) lanes.
static inline void store_first(float *p, __m256 v, int n) {
    if (n >= 8) { _mm256_storeu_ps(p, v); return; }
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes), v);
}

/// Transposes an 8×8 block of floats in place: rows[i] holds row i on entry,
/// column i on return.
static inline void transpose8(__m256 rows[8]) {
    __m256 t[8], u[8];
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(rows[j], rows[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(rows[j], rows[j + 1]);
    }
    for (int g = 0; g < 8; g += 4) {
        u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        rows[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        rows[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/// Packs `rows` rows (k along each) into `width` floats per k, eight rows by
/// eight k at a time, transposed in registers.
static void pack_rows8(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int rows, int kc, int width,
                       uint32_t *panel) {
    const size_t size = type == SDGEN_GEMM_F32 ? 4 : 2;
    float *out = (float *)panel;
    __m256 block[8];
    for (int r0 = 0; r0 < width; r0 += 8) {
        const int live = rows - r0 < 8 ? (rows - r0 > 0 ? rows - r0 : 0) : 8;
        const int stored = width - r0 < 8 ? width - r0 : 8;
        for (int k = 0; k < kc; k += 8) {
            for (int r = 0; r < 8; r++)
                block[r] = r < live ? load8((const char *)source + ((size_t)(r0 + r) * ld + k) * size, type, kc - k)
                                    : _mm256_setzero_ps();
            transpose8(block);
            const int n = kc - k < 8 ? kc - k : 8;
            for (int p = 0; p < n; p++) store_first(out + (size_t)(k + p) * width + r0, block[p], stored);
        }
    }
}

/// Packs `kc` source rows of `columns` consecutive elements (k down the
/// source) into `width` floats per k.
static void pack_columns8(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int columns, int kc, int width,
                          uint32_t *panel) {
    const size_t size = type == SDGEN_GEMM_F32 ? 4 : 2;
    float *out = (float *)panel;
    for (int k = 0; k < kc; k++) {
        const char *row = (const char *)source + (size_t)k * ld * size;
        for (int j = 0; j < width; j += 8) {
            const int count = columns - j;
            const __m256 v = count > 0 ? load8(row + (size_t)j * size, type, count) : _mm256_setzero_ps();
            store_first(out + (size_t)k * width + j, v, width - j);
        }
    }
}

/// pack_rows8 for a convolution's implicit patch matrix (microkernel.h's
/// pack_patches_as in eight lanes): row i is output pixel `first + i`, its k
/// run from `k0` read straight from the NHWC input tap by tap, zero outside
/// the image. Each run of 8 lies inside one tap: the caller keeps `k0` and
/// the channels multiples of 32.
static void pack_patches8(const sdgen_conv_input *x, ptrdiff_t first, int rows, int k0, int kc, int width,
                          uint32_t *panel) {
    const int channels = x->channels, outputPixels = x->outputHeight * x->outputWidth;
    float *out = (float *)panel;
    __m256 block[8];
    for (int r0 = 0; r0 < width; r0 += 8) {
        const int live = rows - r0 < 8 ? (rows - r0 > 0 ? rows - r0 : 0) : 8;
        const int stored = width - r0 < 8 ? width - r0 : 8;
        // Each live row's image, and its receptive field's top-left corner.
        ptrdiff_t image[8];
        int top[8], left[8];
        for (int r = 0; r < live; r++) {
            const ptrdiff_t p = first + r0 + r, within = p % outputPixels;
            image[r] = p / outputPixels;
            top[r] = (int)(within / x->outputWidth) * x->stride - x->padTop;
            left[r] = (int)(within % x->outputWidth) * x->stride - x->padLeft;
        }
        for (int k = 0; k < kc; k += 8) {
            const int tap = (k0 + k) / channels, channel = (k0 + k) % channels;
            const int ky = tap / x->kernel, kx = tap % x->kernel;
            for (int r = 0; r < 8; r++) {
                const int iy = r < live ? top[r] + ky : -1, ix = r < live ? left[r] + kx : -1;
                if (iy < 0 || iy >= x->height || ix < 0 || ix >= x->width) {
                    block[r] = _mm256_setzero_ps();
                    continue;
                }
                block[r] = load8(x->input + ((image[r] * x->height + iy) * x->width + ix) * channels + channel,
                                 SDGEN_GEMM_F32, kc - k);
            }
            transpose8(block);
            const int n = kc - k < 8 ? kc - k : 8;
            for (int p = 0; p < n; p++) store_first(out + (size_t)(k + p) * width + r0, block[p], stored);
        }
    }
}

/// acc[R×NR2] = the first R rows of an A panel (`stride` rows per k) · a B
/// panel, over `depth` k. R ≤ MR2, a constant once inlined: the GEMM runs as
/// many of its panel's MR2 rows as it stores, the attention's Vᵀ tiles as
/// many as fit the head dimension.
__attribute__((always_inline))
static inline void accumulate8(int R, int stride, int depth, const uint32_t *a32, const uint32_t *b32,
                               __m256 acc[MR2][2]) {
    const float *restrict a = (const float *)a32, *restrict b = (const float *)b32;
    for (int i = 0; i < R; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
    // A B micro-panel of 16 columns outgrows a 32 KB L1 past 512 k (BERT's
    // 768: 48 KB), so each k's line comes from L2, and the load stalled the
    // FMAs right after it. Fetching it 48 k (3 KB) ahead, in a loop unrolled
    // twice, ran the products 3–6% faster on Zen 3 (BERT's shapes, one core,
    // 60 interleaved calls each); a prefetch without the unroll did nothing.
#pragma clang loop unroll_count(2)
    for (int p = 0; p < depth; p++) {
        _mm_prefetch((const char *)(b + 48 * NR2), _MM_HINT_T0);
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += stride;
        b += NR2;
    }
}

/// accumulate8 with A read where it lies instead of from a packed panel: the
/// first R rows of a row-major A (`lda` floats apart), rows from `rows` on
/// reading row `rows - 1` again (computed, never stored), so that nothing
/// past A is touched. Six rows each read in sequence are six streams the
/// prefetchers follow, overlapped with the FMAs, where packing A was a pass
/// of its own before them: on Zen 3 with BERT's few rows packing took 6–8%
/// of a forward pass (`perf`), A coming cold from the op before.
__attribute__((always_inline))
static inline void accumulate_rows8(int R, int rows, ptrdiff_t lda, int depth, const float *a, const uint32_t *b32,
                                    __m256 acc[MR2][2]) {
    const float *restrict b = (const float *)b32;
    const float *row[MR2];
    for (int i = 0; i < R; i++) row[i] = a + (ptrdiff_t)(i < rows ? i : rows - 1) * lda;
    for (int i = 0; i < R; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
#pragma clang loop unroll_count(2)
    for (int p = 0; p < depth; p++) {
        _mm_prefetch((const char *)(b + 48 * NR2), _MM_HINT_T0);  // as in accumulate8
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            const __m256 ai = _mm256_broadcast_ss(row[i] + p);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        b += NR2;
    }
}

/// Writes a register tile's first `rows` × `columns`: C = alpha·acc + beta·C
/// + bias on the first k block (beta = 0 never reads C; bias may be NULL),
/// C += alpha·acc after.
__attribute__((always_inline))
static inline void store_tile8(__m256 acc[MR2][2], float *c, ptrdiff_t ldc, int rows, int columns, float alpha,
                               float beta, const float *bias, int first) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const int n0 = columns < 8 ? columns : 8, n1 = columns - 8;
    for (int i = 0; i < rows; i++) {
        float *row = c + (size_t)i * ldc;
        for (int h = 0; h < 2; h++) {
            const int n = h == 0 ? n0 : n1;
            if (n <= 0) break;
            __m256 r = _mm256_mul_ps(acc[i][h], va);
            if (!first) r = _mm256_add_ps(r, load8(row + 8 * h, SDGEN_GEMM_F32, n));
            else {
                if (beta != 0) r = _mm256_fmadd_ps(vb, load8(row + 8 * h, SDGEN_GEMM_F32, n), r);
                if (bias) r = _mm256_add_ps(r, load8(bias + 8 * h, SDGEN_GEMM_F32, n));
            }
            store_first(row + 8 * h, r, n);
        }
    }
}

#endif
