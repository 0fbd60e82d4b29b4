// The CPU's own GEMM, in two precisions. bf16 (`--precision bf16`, CPUs with
// AVX-512 BF16): VDPBF16PS does two multiply-adds per f32 lane, twice the rate
// of f32 FMA on the same units (measured on Zen 4: 234 vs 117 GFLOP/s per
// core). f32, where B is a weight stored f16 or bf16: widened as it is packed,
// with no separate widening pass (sgemm takes f32 only). Blocked the Goto/BLIS way, a KC×NC block of B
// packed into panels of NR columns, an MC×KC block of A into panels of MR rows,
// an MR×NR register tile per micro-kernel call, with one twist: K is not
// blocked at the sizes models use (KC is large), so every C tile is written
// once. Both micro-panels then stream from L2, which at 24 dot products per 14
// loads keeps up, and the C traffic of K blocking (the tile re-read and written
// per block) disappears: 4096×320×2880 went 140 → 190 GFLOP/s on one core.
#include "cpu_kernels.h"
#include "microkernel.h"

int sdgen_avx512_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

int sdgen_bf16_gemm_supported(void) {
    // Every function here is compiled for the whole set (microkernel.h's
    // target attribute), so the whole set is what a caller must have.
    return sdgen_avx512_supported() && __builtin_cpu_supports("avx512bf16");
}

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,f16c,fma"))), apply_to = function)

enum {
    KC = 8192,                // k per block (even); larger K is blocked
    L2_BYTES = 768 << 10,     // packed A block + one B micro-panel, kept in the (1 MB) L2
    MC_MAX = 96,
    NC_MAX = 3072,
    B_BLOCK_BYTES = 4 << 20,  // packed B block, kept in L3
};

static _Thread_local uint32_t *packedA, *packedB;
static _Thread_local size_t packedACapacity, packedBCapacity;

/// The blocked product in either precision: bf16 panels hold k in pairs
/// (VDPBF16PS), f32 panels one k each (FMA); B of any stored type is
/// converted as it is packed.
static inline void gemm(int bf16, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                        const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                        float beta, float *c, ptrdiff_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (ptrdiff_t i = 0; i < m; i++)
            for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    const int unit = bf16 ? 2 : 1;
    const size_t bSize = bType == SDGEN_GEMM_F32 ? 4 : 2;
    const char *bBytes = b;
    // K in equal even blocks; then as many rows and columns as the caches hold.
    const ptrdiff_t kBlocks = (k + KC - 1) / KC;
    const int KB = (int)(((k + kBlocks - 1) / kBlocks + 1) & ~(ptrdiff_t)1);
    const int blockUnits = KB / unit;
    int MC = (int)(L2_BYTES / (4 * blockUnits)) - NR;
    MC = MC > MC_MAX ? MC_MAX : MC < MR ? MR : MC / MR * MR;
    int NC = (int)(B_BLOCK_BYTES / (4 * blockUnits)) / NR * NR;
    NC = NC < NR ? NR : NC > NC_MAX ? NC_MAX : NC;
    uint32_t *aPack = reserve(&packedA, &packedACapacity, (size_t)MC * blockUnits);
    uint32_t *bPack = reserve(&packedB, &packedBCapacity, (size_t)NC * blockUnits);

    for (ptrdiff_t jc = 0; jc < n; jc += NC) {
        const int nc = (int)(n - jc < NC ? n - jc : NC);
        for (ptrdiff_t pc = 0; pc < k; pc += KB) {
            const int kc = (int)(k - pc < KB ? k - pc : KB);
            const int units = (kc + unit - 1) / unit;
            for (int jr = 0; jr < nc; jr += NR) {
                const int columns = nc - jr < NR ? nc - jr : NR;
                uint32_t *panel = bPack + (size_t)jr * units;
                if (transB) {  // B is stored n×k: each output column's k run is contiguous
                    const char *source = bBytes + ((jc + jr) * ldb + pc) * bSize;
                    if (bf16) pack_rows(source, bType, ldb, columns, kc, NR, panel);
                    else pack_rows_f32(source, bType, ldb, columns, kc, NR, (float *)panel);
                } else {
                    const char *source = bBytes + (pc * ldb + jc + jr) * bSize;
                    if (bf16) pack_columns(source, bType, ldb, columns, kc, NR, panel);
                    else pack_columns_f32(source, bType, ldb, columns, kc, NR, (float *)panel);
                }
            }
            for (ptrdiff_t ic = 0; ic < m; ic += MC) {
                const int mc = (int)(m - ic < MC ? m - ic : MC);
                for (int ir = 0; ir < mc; ir += MR) {
                    const int rows = mc - ir < MR ? mc - ir : MR;
                    uint32_t *panel = aPack + (size_t)ir * units;
                    if (transA) {
                        const float *source = a + pc * lda + ic + ir;
                        if (bf16) pack_columns(source, SDGEN_GEMM_F32, lda, rows, kc, MR, panel);
                        else pack_columns_f32(source, SDGEN_GEMM_F32, lda, rows, kc, MR, (float *)panel);
                    } else {
                        const float *source = a + (ic + ir) * lda + pc;
                        if (bf16) pack_rows(source, SDGEN_GEMM_F32, lda, rows, kc, MR, panel);
                        else pack_rows_f32(source, SDGEN_GEMM_F32, lda, rows, kc, MR, (float *)panel);
                    }
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    const int columns = nc - jr < NR ? nc - jr : NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        const int rows = mc - ir < MR ? mc - ir : MR;
                        const uint32_t *aPanel = aPack + (size_t)ir * units, *bPanel = bPack + (size_t)jr * units;
                        float *tile = c + (ic + ir) * ldc + jc + jr;
                        if (bf16) kernel(units, aPanel, bPanel, tile, ldc, rows, columns, alpha, beta, pc == 0);
                        else kernel_f32(units, (const float *)aPanel, (const float *)bPanel, tile, ldc, rows, columns,
                                        alpha, beta, pc == 0);
                    }
                }
            }
        }
    }
}

void sdgen_bf16_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                     const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                     float beta, float *c, ptrdiff_t ldc) {
    gemm(1, transA, transB, m, n, k, alpha, a, lda, b, bType, ldb, beta, c, ldc);
}

void sdgen_f32_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                    const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                    float beta, float *c, ptrdiff_t ldc) {
    gemm(0, transA, transB, m, n, k, alpha, a, lda, b, bType, ldb, beta, c, ldc);
}

#pragma clang attribute pop
