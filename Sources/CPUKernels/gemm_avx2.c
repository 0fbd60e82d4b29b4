// The AVX2 kernel set's f32 GEMM, for x86-64 CPUs without AVX-512 (and, forced
// with SDGEN_CPU=avx2, on those with it, so the path is tested and measured
// everywhere): a 6×16 register tile of FMA, 12 ymm accumulators + 2 B vectors
// + 1 broadcast of the 16 ymm registers, in gemm_blocking.h's loops. B stored
// f16 or bf16 is widened as it is packed (F16C; bf16 by a shift), as in the
// AVX-512 set.
#include "cpu_kernels.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sdgen_avx2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

#include "gemm_blocking.h"

enum {
    MR2 = 6,   // rows of the register tile
    NR2 = 16,  // columns: two ymm of 8 lanes
};

static _Thread_local uint32_t *packedA, *packedB;
static _Thread_local size_t packedACapacity, packedBCapacity;

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

/// The register tile over the first R (a constant once inlined) of an A
/// panel's MR2 rows: C (+)= alpha · A · B over `depth` k, `rows` ≤ R stored.
__attribute__((always_inline))
static inline void tile_rows(int R, int depth, const uint32_t *a32, const uint32_t *b32, float *c, ptrdiff_t ldc,
                             int rows, int columns, float alpha, float beta, const float *bias, int first) {
    const float *restrict a = (const float *)a32, *restrict b = (const float *)b32;
    __m256 acc[MR2][2];
    for (int i = 0; i < R; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
    for (int p = 0; p < depth; p++) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR2;
        b += NR2;
    }
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

/// The 6×16 register tile, a short last tile computing only the rows it
/// stores, rounded up to 2 or 4 (as the AVX-512 set's `tile_fitted`: BERT's
/// 128 tokens are 21 tiles of 6 and one of 2).
static void tile6x16(int depth, const uint32_t *a, const uint32_t *b, float *c, ptrdiff_t ldc, int rows,
                     int columns, float alpha, float beta, const float *bias, int first) {
    if (rows <= 2) tile_rows(2, depth, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
    else if (rows <= 4) tile_rows(4, depth, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
    else tile_rows(MR2, depth, a, b, c, ldc, rows, columns, alpha, beta, bias, first);
}

static const struct gemm_kernel avx2Kernel = {MR2, NR2, 1, pack_rows8, pack_columns8, NULL, tile6x16};

void sdgen_f32_gemm_avx2(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                         const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                         float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&avx2Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 transA, transB, m, n, k, alpha, a, lda, NULL, NULL, 0, b, bType, ldb, NULL, beta, bias, c, ldc);
}

int sdgen_f32_panel_columns_avx2(void) { return NR2; }

void sdgen_f32_pack_panels_avx2(const void *b, sdgen_gemm_dtype bType, ptrdiff_t n, ptrdiff_t k, float *panels) {
    pack_panels(&avx2Kernel, b, bType, k, n, k, NR2, (uint32_t *)panels);
}

void sdgen_f32_gemm_panels_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                                const float *panels, float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&avx2Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, m, n, k, alpha, a, lda, NULL, NULL, 0, NULL, SDGEN_GEMM_F32, k, (const uint32_t *)panels,
                 beta, bias, c, ldc);
}

int sdgen_f32_panel_rows_avx2(void) { return MR2; }

void sdgen_f32_pack_a_panels_avx2(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, float *panels) {
    pack_panels(&avx2Kernel, a, SDGEN_GEMM_F32, lda, m, k, MR2, (uint32_t *)panels);
}

void sdgen_f32_gemm_a_panels_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *panelsA, const float *panelsB,
                                  const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&avx2Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, m, n, k, 1, NULL, 0, (const uint32_t *)panelsA, NULL, 0, NULL, SDGEN_GEMM_F32, k,
                 (const uint32_t *)panelsB, 0, bias, c, ldc);
}

#pragma clang attribute pop
