// The pieces the bf16 GEMM and the fused attention share: packing operands
// into panels and the MR×NR register tile, in bf16 (k in pairs) and in f32.
// Internal to CPUKernels.
//
// Packed layouts keep k in pairs because VDPBF16PS multiplies pairs: a B panel
// holds, for each pair of k, NR dwords (b[k][j], b[k+1][j]); an A panel holds,
// for each pair, MR dwords (a[i][k], a[i][k+1]) that the kernel broadcasts.
// Odd K and ragged edges are zero-padded in the packs, so the kernel never
// branches on sizes; only the final store is masked.
#ifndef SDGEN_MICROKERNEL_H
#define SDGEN_MICROKERNEL_H

#include "cpu_kernels.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,f16c,fma"))), apply_to = function)

// Inside the target region: the driver is compiled for the kernels it runs.
#include "gemm_blocking.h"

enum {
    MR = 12,  // rows of the register tile: 24 accumulators + 2 B vectors + 1 broadcast of 32 zmm
    NR = 32,  // columns: two zmm of 16 lanes
};

/// Up to 32 consecutive elements of one row as 16 dwords of bf16 pairs; lanes
/// past `count` are zero.
static inline __m512i load_pairs(const void *row, sdgen_gemm_dtype type, int count) {
    __mmask16 lo = count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
    __mmask16 hi = count >= 32 ? 0xFFFF : count <= 16 ? 0 : (__mmask16)((1u << (count - 16)) - 1);
    switch (type) {
    case SDGEN_GEMM_F32: {
        const float *p = row;
        __m512 l = _mm512_maskz_loadu_ps(lo, p), h = _mm512_maskz_loadu_ps(hi, p + 16);
        return (__m512i)_mm512_cvtne2ps_pbh(h, l);
    }
    case SDGEN_GEMM_F16: {
        const uint16_t *p = row;
        __m512 l = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lo, p));
        __m512 h = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(hi, p + 16));
        return (__m512i)_mm512_cvtne2ps_pbh(h, l);
    }
    default: {
        __mmask32 mask = count >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << count) - 1);
        return _mm512_maskz_loadu_epi16(mask, row);
    }
    }
}

/// Up to 16 consecutive elements of one row as f32 (their bits as dwords);
/// lanes past `count` are zero.
static inline __m512i load_units(const void *row, sdgen_gemm_dtype type, int count) {
    const __mmask16 mask = count >= 16 ? 0xFFFF : (__mmask16)((1u << count) - 1);
    switch (type) {
    case SDGEN_GEMM_F32: return _mm512_maskz_loadu_epi32(mask, row);
    case SDGEN_GEMM_F16: return _mm512_castps_si512(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, row)));
    default: return _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, row)), 16);
    }
}

/// Transposes a 16×16 block of dwords in place: rows[i] holds row i on entry,
/// column i on return (the usual unpack/unpack/shuffle/shuffle network).
static inline void transpose16(__m512i rows[16]) {
    __m512i t[16], u[16];
    for (int j = 0; j < 16; j += 2) {
        t[j] = _mm512_unpacklo_epi32(rows[j], rows[j + 1]);
        t[j + 1] = _mm512_unpackhi_epi32(rows[j], rows[j + 1]);
    }
    // u[4g + c], lane L: column 4L + c of rows 4g..4g+3.
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int c = 0; c < 4; c++) {
        const __m512i w0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), w1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
        const __m512i w2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44), w3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
        rows[c] = _mm512_shuffle_i32x4(w0, w2, 0x88);
        rows[4 + c] = _mm512_shuffle_i32x4(w0, w2, 0xDD);
        rows[8 + c] = _mm512_shuffle_i32x4(w1, w3, 0x88);
        rows[12 + c] = _mm512_shuffle_i32x4(w1, w3, 0xDD);
    }
}

/// Packs `rows` rows (stride `ld` elements) of `kc` elements each, k along a
/// row, into a panel of `width` dwords per k unit; rows past `rows` are zero.
/// A unit is a pair of k as bf16 (`paired`), else one k widened to f32, as
/// the f32 panels take it. Sixteen rows by sixteen units at
/// a time, transposed in registers: a scalar scatter of the same dwords made
/// packing B a sixth of a 128-token product's time.
static inline void pack_rows_as(int paired, const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int rows,
                                int kc, int width, uint32_t *panel) {
    const size_t elementSize = type == SDGEN_GEMM_F32 ? 4 : 2;
    const int perUnit = paired ? 2 : 1, units = (kc + perUnit - 1) / perUnit;
    __m512i block[16];
    for (int r0 = 0; r0 < width; r0 += 16) {
        const int live = rows - r0 < 16 ? (rows - r0 > 0 ? rows - r0 : 0) : 16;
        const int stored = width - r0 < 16 ? width - r0 : 16;
        const __mmask16 mask = (__mmask16)((1u << stored) - 1);
        for (int k = 0; k < kc; k += 16 * perUnit) {
            for (int r = 0; r < 16; r++) {
                const char *row = (const char *)source + ((size_t)(r0 + r) * ld + k) * elementSize;
                const int count = kc - k;
                // Weights come cold from memory, 16 rows at a time: sixteen streams
                // that the hardware prefetchers alone keep too short (BERT's
                // 128-row products with f16 weights: 297–405 → 380–439 GFLOP/s on
                // Zen 5; 256 bytes ahead measured best of 256, 512 and 1024).
                if (r < live) _mm_prefetch(row + 256, _MM_HINT_T0);
                block[r] = r >= live ? _mm512_setzero_si512()
                         : paired ? load_pairs(row, type, count) : load_units(row, type, count);
            }
            transpose16(block);
            const int n = units - k / perUnit < 16 ? units - k / perUnit : 16;
            uint32_t *out = panel + (size_t)(k / perUnit) * width + r0;
            for (int p = 0; p < n; p++) _mm512_mask_storeu_epi32(out + (size_t)p * width, mask, block[p]);
        }
    }
}

/// bf16 pairs from rows of any element type.
static inline void pack_rows(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int rows, int kc,
                             int width, uint32_t *panel) {
    pack_rows_as(1, source, type, ld, rows, kc, width, panel);
}

/// pack_rows_as for a convolution's implicit patch matrix: row i is output
/// pixel `first + i`, its k run from `k0` read straight from the NHWC input
/// tap by tap (zero outside the image), so no im2col copy is made. Each run
/// of 16 units lies inside one tap: the caller keeps `k0` and the channels
/// multiples of 32.
static inline void pack_patches_as(int paired, const sdgen_conv_input *x, ptrdiff_t first, int rows, int k0,
                                   int kc, int width, uint32_t *panel) {
    const int perUnit = paired ? 2 : 1, units = (kc + perUnit - 1) / perUnit;
    const int channels = x->channels, outputPixels = x->outputHeight * x->outputWidth;
    __m512i block[16];
    for (int r0 = 0; r0 < width; r0 += 16) {
        const int live = rows - r0 < 16 ? (rows - r0 > 0 ? rows - r0 : 0) : 16;
        const int stored = width - r0 < 16 ? width - r0 : 16;
        const __mmask16 mask = (__mmask16)((1u << stored) - 1);
        // Each live row's image, and its receptive field's top-left corner.
        ptrdiff_t image[16];
        int top[16], left[16];
        for (int r = 0; r < live; r++) {
            const ptrdiff_t p = first + r0 + r, within = p % outputPixels;
            image[r] = p / outputPixels;
            top[r] = (int)(within / x->outputWidth) * x->stride - x->padTop;
            left[r] = (int)(within % x->outputWidth) * x->stride - x->padLeft;
        }
        for (int k = 0; k < kc; k += 16 * perUnit) {
            const int tap = (k0 + k) / channels, channel = (k0 + k) % channels;
            const int ky = tap / x->kernel, kx = tap % x->kernel;
            for (int r = 0; r < 16; r++) {
                const int iy = r < live ? top[r] + ky : -1, ix = r < live ? left[r] + kx : -1;
                if (iy < 0 || iy >= x->height || ix < 0 || ix >= x->width) {
                    block[r] = _mm512_setzero_si512();
                    continue;
                }
                const float *row = x->input + ((image[r] * x->height + iy) * x->width + ix) * channels + channel;
                block[r] = paired ? load_pairs(row, SDGEN_GEMM_F32, kc - k) : load_units(row, SDGEN_GEMM_F32, kc - k);
            }
            transpose16(block);
            const int n = units - k / perUnit < 16 ? units - k / perUnit : 16;
            uint32_t *out = panel + (size_t)(k / perUnit) * width + r0;
            for (int p = 0; p < n; p++) _mm512_mask_storeu_epi32(out + (size_t)p * width, mask, block[p]);
        }
    }
}

static inline void pack_patches(const sdgen_conv_input *x, ptrdiff_t first, int rows, int k0, int kc, int width,
                                uint32_t *panel) {
    pack_patches_as(1, x, first, rows, k0, kc, width, panel);
}

static inline void pack_patches_f32(const sdgen_conv_input *x, ptrdiff_t first, int rows, int k0, int kc,
                                    int width, uint32_t *panel) {
    pack_patches_as(0, x, first, rows, k0, kc, width, panel);
}

/// Interleaves two rows' worth of bf16 (16 each) into 16 dwords of pairs.
static inline __m512i interleave(__m256i even, __m256i odd) {
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(order, _mm512_inserti64x4(_mm512_castsi256_si512(even), odd, 1));
}

/// Up to 16 consecutive elements as bf16, zero past `count`.
static inline __m256i load_bf16(const void *p, sdgen_gemm_dtype type, int count) {
    __mmask16 mask = count >= 16 ? 0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
    switch (type) {
    case SDGEN_GEMM_F32: return (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, p));
    case SDGEN_GEMM_F16: return (__m256i)_mm512_cvtneps_pbh(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p)));
    default: return _mm256_maskz_loadu_epi16(mask, p);
    }
}

/// Packs a block whose k runs down the source's rows (stride `ld`): for each
/// pair of source rows, `columns` consecutive elements into `width` dwords.
static inline void pack_columns(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int columns, int kc,
                         int width, uint32_t *panel) {
    const size_t elementSize = type == SDGEN_GEMM_F32 ? 4 : 2;
    const char *base = source;
    for (int k = 0; k < kc; k += 2) {
        const char *even = base + (size_t)k * ld * elementSize;
        const char *odd = even + (size_t)ld * elementSize;
        uint32_t *out = panel + (size_t)(k / 2) * width;
        for (int j = 0; j < width; j += 16) {
            const int count = columns - j;
            __m256i e = load_bf16(even + j * elementSize, type, count);
            __m256i o = k + 1 < kc ? load_bf16(odd + j * elementSize, type, count) : _mm256_setzero_si256();
            __m512i pairs = interleave(e, o);
            const int n = width - j < 16 ? width - j : 16;
            _mm512_mask_storeu_epi32(out + j, (__mmask16)((1u << n) - 1), pairs);
        }
    }
}

/// Writes a register tile: C = alpha·acc + beta·C + bias on the first k block
/// (beta = 0 never reads C; bias may be NULL), C += alpha·acc after; masked
/// to rows × columns. Always inlined and unrolled over MR rows so that the
/// accumulators stay in registers: a loop to a run-time `rows` made the
/// compiler spill them to the stack, zeroing all 1.5 KB of it with a memset
/// call per tile first (2.5% of BERT's time at 128 tokens, in memset alone).
/// `R` (a constant once inlined): the rows the tile computed, `rows` ≤ R of them stored.
__attribute__((always_inline))
static inline void store_tile(__m512 acc[MR][2], int R, float *c, ptrdiff_t ldc, int rows, int columns,
                              float alpha, float beta, const float *bias, int first) {
    const __mmask16 m0 = columns >= 16 ? 0xFFFF : (__mmask16)((1u << columns) - 1);
    const __mmask16 m1 = columns >= 32 ? 0xFFFF : columns <= 16 ? 0 : (__mmask16)((1u << (columns - 16)) - 1);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const __m512 bias0 = first && bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 bias1 = first && bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i >= R || i >= rows) continue;
        float *row = c + (size_t)i * ldc;
        __m512 r0 = _mm512_mul_ps(acc[i][0], va), r1 = _mm512_mul_ps(acc[i][1], va);
        if (!first) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, row));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, row + 16));
        } else {
            if (beta != 0) {
                r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), r0);
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), r1);
            }
            r0 = _mm512_add_ps(r0, bias0);
            r1 = _mm512_add_ps(r1, bias1);
        }
        _mm512_mask_storeu_ps(row, m0, r0);
        _mm512_mask_storeu_ps(row + 16, m1, r1);
    }
}

/// acc[R×NR] = the first R rows of an A panel (`stride` rows per unit) · B
/// panel over `units` k units: bf16 pairs (VDPBF16PS) or f32 (FMA). R ≤ MR,
/// a constant once inlined: the GEMM runs as many of its panel's MR rows as
/// it stores, rounded up to 4 (`tile_rows`), the attention's Vᵀ tiles as
/// many as fit the head dimension.
__attribute__((always_inline))
static inline void accumulate(int bf16, int R, int stride, int units, const uint32_t *restrict a,
                              const uint32_t *restrict b, __m512 acc[MR][2]) {
    for (int i = 0; i < R; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < units; p++) {
        if (bf16) {
            const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
#pragma clang loop unroll(full)
            for (int i = 0; i < R; i++) {
                const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
            }
        } else {
            const __m512 b0 = _mm512_load_ps((const float *)b), b1 = _mm512_load_ps((const float *)b + 16);
#pragma clang loop unroll(full)
            for (int i = 0; i < R; i++) {
                const __m512 ai = _mm512_set1_ps(((const float *)a)[i]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
        a += stride;
        b += NR;
    }
}

/// The register tile over the first R rows of an MR-row A panel (R constant
/// once inlined): C[R×NR] (+)= alpha · A · B, `rows` ≤ R of them stored.
__attribute__((always_inline))
static inline void tile_rows(int bf16, int R, int units, const uint32_t *restrict a, const uint32_t *restrict b,
                             float *c, ptrdiff_t ldc, int rows, int columns, float alpha, float beta,
                             const float *bias, int first) {
    __m512 acc[MR][2];
    accumulate(bf16, R, MR, units, a, b, acc);
    store_tile(acc, R, c, ldc, rows, columns, alpha, beta, bias, first);
}

/// A tile of `rows` ≤ MR, computing only as many rows as it stores, rounded
/// up to 4: the last tile of a product whose rows are not a multiple of MR
/// (BERT's 128 tokens are 10 tiles of 12 and one of 8; CLIP's 2 × 77, 12 and
/// 10) otherwise multiplied the panel's padding rows too — 3% of BERT's
/// multiply-adds at 128 tokens. Four rows still keep eight independent
/// accumulators, enough to cover the FMA latency.
__attribute__((always_inline))
static inline void tile_fitted(int bf16, int units, const uint32_t *restrict a, const uint32_t *restrict b,
                               float *c, ptrdiff_t ldc, int rows, int columns, float alpha, float beta,
                               const float *bias, int first) {
    if (rows <= 4) tile_rows(bf16, 4, units, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
    else if (rows <= 8) tile_rows(bf16, 8, units, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
    else tile_rows(bf16, MR, units, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
}

/// The bf16 register tile: C[rows×NR] (+)= alpha · A panel · B panel over
/// `pairs` k pairs (`tile_fitted`). `first`: this is the first k block, so
/// beta applies (beta = 0 never reads C).
static inline void kernel(int pairs, const uint32_t *restrict a, const uint32_t *restrict b, float *c,
                          ptrdiff_t ldc, int rows, int columns, float alpha, float beta, const float *bias,
                          int first) {
    tile_fitted(1, pairs, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
}

// f32 versions for the fused attention's f32 precision: the same panels with
// one k per panel row instead of a pair, and FMA instead of VDPBF16PS.

/// Rows of any element type as f32, one k per panel row.
static inline void pack_rows_f32(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int rows, int kc,
                                 int width, float *panel) {
    pack_rows_as(0, source, type, ld, rows, kc, width, (uint32_t *)panel);
}

/// Packs `kc` rows of `columns` consecutive elements (stride `ld`) as f32
/// into `width` floats per k, zero past `columns`.
static inline void pack_columns_f32(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int columns, int kc,
                                    int width, float *panel) {
    const size_t elementSize = type == SDGEN_GEMM_F32 ? 4 : 2;
    for (int k = 0; k < kc; k++)
        for (int j = 0; j < width; j += 16) {
            const int count = columns - j < 16 ? (columns - j > 0 ? columns - j : 0) : 16;
            const int n = width - j < 16 ? width - j : 16;
            const char *row = (const char *)source + ((size_t)k * ld + j) * elementSize;
            _mm512_mask_storeu_epi32(panel + (size_t)k * width + j, (__mmask16)((1u << n) - 1),
                                     count > 0 ? load_units(row, type, count) : _mm512_setzero_si512());
        }
}

/// The f32 register tile: C[rows×NR] (+)= alpha · A panel · B panel over `depth` k (`tile_fitted`).
static inline void kernel_f32(int depth, const float *restrict a, const float *restrict b, float *c,
                              ptrdiff_t ldc, int rows, int columns, float alpha, float beta, const float *bias,
                              int first) {
    tile_fitted(0, depth, (const uint32_t *)a, (const uint32_t *)b, c, ldc, rows, columns, alpha, beta, bias, first);
}

#pragma clang attribute pop

#endif
