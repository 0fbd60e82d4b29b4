// The AVX2 kernel set's f32 GEMM, for x86-64 CPUs without AVX-512 (and, forced
// with SDGEN_CPU=avx2, on those with it, so the path is tested and measured
// everywhere): microkernel_avx2.h's 6×16 register tile and packing in
// gemm_blocking.h's loops, B stored f32, f16 or bf16, as in the AVX-512 set.
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

#include "microkernel_avx2.h"

static _Thread_local uint32_t *packedA, *packedB;
static _Thread_local size_t packedACapacity, packedBCapacity;

/// The register tile over the first R (a constant once inlined) of an A
/// panel's MR2 rows: C (+)= alpha · A · B over `depth` k, `rows` ≤ R stored.
__attribute__((always_inline))
static inline void tile_rows(int R, int depth, const uint32_t *a, const uint32_t *b, float *c, ptrdiff_t ldc,
                             int rows, int columns, float alpha, float beta, const float *bias, int first) {
    __m256 acc[MR2][2];
    accumulate8(R, MR2, depth, a, b, acc);
    store_tile8(acc, c, ldc, rows, columns, alpha, beta, bias, first);
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

/// tile_rows with A's rows read in place (`accumulate_rows8`).
__attribute__((always_inline))
static inline void tile_rows_in_place(int R, int depth, const float *a, ptrdiff_t lda, const uint32_t *b, float *c,
                                      ptrdiff_t ldc, int rows, int columns, float alpha, float beta,
                                      const float *bias, int first) {
    __m256 acc[MR2][2];
    accumulate_rows8(R, rows, lda, depth, a, b, acc);
    store_tile8(acc, c, ldc, rows, columns, alpha, beta, bias, first);
}

/// tile6x16 for a row-major f32 A, unpacked.
static void tile6x16_in_place(int depth, const float *a, ptrdiff_t lda, const uint32_t *b, float *c, ptrdiff_t ldc,
                              int rows, int columns, float alpha, float beta, const float *bias, int first) {
    if (rows <= 2) tile_rows_in_place(2, depth, a, lda, b, c, ldc, rows, columns, alpha, beta, bias, first);
    else if (rows <= 4) tile_rows_in_place(4, depth, a, lda, b, c, ldc, rows, columns, alpha, beta, bias, first);
    else tile_rows_in_place(MR2, depth, a, lda, b, c, ldc, rows, columns, alpha, beta, bias, first);
}

static const struct gemm_kernel avx2Kernel = {MR2, NR2, 1, pack_rows8, pack_columns8, pack_patches8, tile6x16,
                                              tile6x16_in_place};

void sdgen_f32_gemm_avx2(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                         const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                         float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&avx2Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 transA, transB, m, n, k, alpha, a, lda, NULL, NULL, 0, b, bType, ldb, NULL, beta, bias, c, ldc);
}

void sdgen_f32_conv_gemm_avx2(const sdgen_conv_input *x, ptrdiff_t firstPixel, ptrdiff_t pixels, ptrdiff_t n,
                              const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw, const float *bias,
                              float *c, ptrdiff_t ldc) {
    const ptrdiff_t k = (ptrdiff_t)x->kernel * x->kernel * x->channels;
    blocked_gemm(&avx2Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, pixels, n, k, 1, NULL, 0, NULL, x, firstPixel, w, wType, ldw, NULL, 0, bias, c, ldc);
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

// Outside the AVX2 region: the driver's block, asked for on any CPU.
int sdgen_gemm_block_rows(void) { return GEMM_MC_MAX; }
