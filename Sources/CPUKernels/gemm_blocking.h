// The blocking every sdgen GEMM shares, whatever its register tile: the
// Goto/BLIS loops around a kernel set's packing routines and micro-kernel.
// A KC×NC block of B is packed into panels of NR columns, an MC×KC block of A
// into panels of MR rows, and an MR×NR register tile per micro-kernel call.
// K is blocked only past 1280 packed units (f32 k, or bf16 pairs: 2560 k):
// both micro-panels stream from L2, which at 24 dot products per 14 loads
// keeps up, and a C tile is re-read once per block (4 bytes per 512 FLOPs in
// f32). 1280 rather than 1024 keeps SD's 1280-deep products (SDXL's
// attention and GEGLU projections) in one block: on Zen 5, 512×10240×1280
// 430–438 → 465–470 GFLOP/s and 2048×1280×1280 454–463 → 481–489
// (`Microbench gemm`), SDXL's 1024² step 28.37/28.68 → 27.87/27.89 s
// (interleaved); an A block of 96 × 1280 and a B micro-panel, 655 KB, still
// fit L2. Blocks much shorter cost C traffic (K blocking
// at a few hundred: 4096×320×2880 ran 140 against 190 GFLOP/s unblocked on
// one Zen 4 core); much longer ones make a B micro-panel too big for L2
// (NR × 5120 f32 = 640 KB: 512×1280×5120 ran 214 GFLOP/s unblocked, 291 in
// 1024-deep blocks on the 2-core Emerald Rapids VM; SDXL's UNet step 2.5%
// faster, interleaved A/B).
//
// Include it inside the includer's `#pragma clang attribute push(target(…))`
// region (and <stdlib.h> before it): `blocked_gemm` is always inlined with a
// constant kernel description, so it is compiled for that set's instructions
// and its packing and tile calls become direct, inlined calls.
#ifndef SDGEN_GEMM_BLOCKING_H
#define SDGEN_GEMM_BLOCKING_H

#include "cpu_kernels.h"

#include <stdint.h>
#include <stdlib.h>

/// A growable buffer that stays with its thread: calls would otherwise map and
/// fault fresh pages every time (glibc serves these sizes with mmap).
static inline uint32_t *reserve(uint32_t **buffer, size_t *capacity, size_t dwords) {
    if (*capacity < dwords) {
        free(*buffer);
        *buffer = aligned_alloc(64, (dwords * 4 + 63) / 64 * 64);
        *capacity = *buffer ? dwords : 0;
        if (!*buffer) abort();  // a few MB per thread; nothing sensible to do without them
    }
    return *buffer;
}

/// Packs `count` rows or columns of a source into a panel of `width` dwords
/// per k unit, zero-padded past `count` and past `kc`.
typedef void (*gemm_pack)(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int count, int kc, int width,
                          uint32_t *panel);
/// Packs rows `first`… of a convolution's implicit patch matrix (k from
/// `k0`, `kc` of them) into a panel of `width` dwords per k unit.
typedef void (*gemm_gather)(const sdgen_conv_input *x, ptrdiff_t first, int rows, int k0, int kc, int width,
                            uint32_t *panel);
/// C[rows × columns] (+)= alpha · A panel · B panel over `units` k units;
/// `first`: the first k block, where beta·C and the tile's columns of `bias`
/// (NULL for none) are added (beta = 0 never reads C).
typedef void (*gemm_tile)(int units, const uint32_t *a, const uint32_t *b, float *c, ptrdiff_t ldc, int rows,
                          int columns, float alpha, float beta, const float *bias, int first);
/// The same with A's rows read where they lie (f32, `lda` apart) instead of
/// from a packed panel.
typedef void (*gemm_tile_in_place)(int units, const float *a, ptrdiff_t lda, const uint32_t *b, float *c,
                                   ptrdiff_t ldc, int rows, int columns, float alpha, float beta, const float *bias,
                                   int first);

/// One kernel set's shape and routines.
struct gemm_kernel {
    int mr, nr;
    /// Source elements per packed dword: 2 for bf16 pairs, 1 for f32.
    int unit;
    /// k along the source's rows (A as stored, B transposed)…
    gemm_pack pack_rows;
    /// …or down its columns (A transposed, B as stored).
    gemm_pack pack_columns;
    /// A as a convolution's patches (NULL where the set has no such packing).
    gemm_gather pack_patches;
    gemm_tile tile;
    /// For a row-major f32 A, unpacked (NULL where the set always packs A).
    gemm_tile_in_place tile_in_place;
};

enum {
    GEMM_KC_UNITS = 1280,           // packed k units per block (a unit: one f32 k or a bf16 pair)
    GEMM_L2_BYTES = 768 << 10,      // packed A block + one B micro-panel, kept in L2
    GEMM_MC_MAX = 96,
    GEMM_NC_MAX = 3072,
    GEMM_B_BLOCK_BYTES = 4 << 20,   // packed B block, kept in L3
};
// So an A block is always GEMM_MC_MAX rows (`sdgen_gemm_block_rows`), whatever
// the depth and the tile (NR ≤ 32): callers cut products into runs of it.
_Static_assert(GEMM_L2_BYTES / (4 * GEMM_KC_UNITS) - 32 >= GEMM_MC_MAX, "an A block shorter than GEMM_MC_MAX");

/// Row-major C = alpha·op(A)·op(B) + beta·C + bias (a row vector of n, or
/// NULL) on the calling thread; B of any stored type is converted as it is
/// packed. The bias is added as a tile is first stored, not broadcast into C
/// beforehand: at K = 320 that extra pass over C cost a quarter of the time.
/// `packedA`/`packedB` are the includer's thread-local panels. With
/// `patches`, A is rows `firstPatch`… of that convolution's patch matrix
/// (`a`, `lda` and `transA` unused): K blocks then start at multiples of 32,
/// so no packed run of k crosses from one tap to the next. With `panelsB`, B
/// is already packed (`pack_panels`: each NR columns' units of all of K in
/// a row, the first column's panel first) and `b` is unused; with `panelsA`,
/// A likewise (`pack_panels` of MR rows: each MR rows' units of all of K in a
/// row), for an A that meets many B (`a`, `lda` and `transA` unused).
__attribute__((always_inline))
static inline void blocked_gemm(const struct gemm_kernel *kernel, uint32_t **packedA, size_t *packedACapacity,
                                uint32_t **packedB, size_t *packedBCapacity,
                                int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                                const float *a, ptrdiff_t lda, const uint32_t *panelsA,
                                const sdgen_conv_input *patches, ptrdiff_t firstPatch,
                                const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb, const uint32_t *panelsB,
                                float beta, const float *bias, float *c, ptrdiff_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (ptrdiff_t i = 0; i < m; i++)
            for (ptrdiff_t j = 0; j < n; j++)
                c[i * ldc + j] = (beta == 0 ? 0 : beta * c[i * ldc + j]) + (bias ? bias[j] : 0);
        return;
    }
    const int MR = kernel->mr, NR = kernel->nr, unit = kernel->unit;
    const size_t bSize = bType == SDGEN_GEMM_F32 ? 4 : 2;
    const char *bBytes = b;
    // K in equal even blocks; then as many rows and columns as the caches hold.
    const ptrdiff_t kBlocks = (k + GEMM_KC_UNITS * unit - 1) / (GEMM_KC_UNITS * unit);
    const ptrdiff_t KBAlign = patches ? 32 : 2;
    const int KB = (int)(((k + kBlocks - 1) / kBlocks + KBAlign - 1) / KBAlign * KBAlign);
    const int blockUnits = KB / unit;
    const ptrdiff_t kUnits = (k + unit - 1) / unit;
    int MC = (int)(GEMM_L2_BYTES / (4 * blockUnits)) - NR;
    MC = MC > GEMM_MC_MAX ? GEMM_MC_MAX : MC < MR ? MR : MC / MR * MR;
    int NC = (int)(GEMM_B_BLOCK_BYTES / (4 * blockUnits)) / NR * NR;
    NC = NC < NR ? NR : NC > GEMM_NC_MAX / NR * NR ? GEMM_NC_MAX / NR * NR : NC;
    // A row-major f32 A needs no packing where the set's tile reads it in place.
    const int inPlace = kernel->tile_in_place && !panelsA && !patches && !transA && unit == 1;
    uint32_t *aPack = panelsA || inPlace ? NULL : reserve(packedA, packedACapacity, (size_t)MC * blockUnits);
    uint32_t *bPack = panelsB ? NULL : reserve(packedB, packedBCapacity, (size_t)NC * blockUnits);

    for (ptrdiff_t jc = 0; jc < n; jc += NC) {
        const int nc = (int)(n - jc < NC ? n - jc : NC);
        for (ptrdiff_t pc = 0; pc < k; pc += KB) {
            const int kc = (int)(k - pc < KB ? k - pc : KB);
            const int units = (kc + unit - 1) / unit;
            for (int jr = 0; jr < nc && !panelsB; jr += NR) {
                const int columns = nc - jr < NR ? nc - jr : NR;
                uint32_t *panel = bPack + (size_t)jr * units;
                if (transB)  // B is stored n×k: each output column's k run is contiguous
                    kernel->pack_rows(bBytes + ((jc + jr) * ldb + pc) * bSize, bType, ldb, columns, kc, NR, panel);
                else
                    kernel->pack_columns(bBytes + (pc * ldb + jc + jr) * bSize, bType, ldb, columns, kc, NR, panel);
            }
            for (ptrdiff_t ic = 0; ic < m; ic += MC) {
                const int mc = (int)(m - ic < MC ? m - ic : MC);
                for (int ir = 0; ir < mc && !panelsA && !inPlace; ir += MR) {
                    const int rows = mc - ir < MR ? mc - ir : MR;
                    uint32_t *panel = aPack + (size_t)ir * units;
                    if (patches)
                        kernel->pack_patches(patches, firstPatch + ic + ir, rows, (int)pc, kc, MR, panel);
                    else if (transA)
                        kernel->pack_columns(a + pc * lda + ic + ir, SDGEN_GEMM_F32, lda, rows, kc, MR, panel);
                    else
                        kernel->pack_rows(a + (ic + ir) * lda + pc, SDGEN_GEMM_F32, lda, rows, kc, MR, panel);
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    const int columns = nc - jr < NR ? nc - jr : NR;
                    // Packed above, or the prepacked panel's part for this block of k.
                    const uint32_t *bPanel = panelsB ? panelsB + (size_t)(jc + jr) * kUnits + (size_t)(pc / unit) * NR
                                                     : bPack + (size_t)jr * units;
                    for (int ir = 0; ir < mc; ir += MR) {
                        const int rows = mc - ir < MR ? mc - ir : MR;
                        if (inPlace) {
                            kernel->tile_in_place(units, a + (ic + ir) * lda + pc, lda, bPanel,
                                                  c + (ic + ir) * ldc + jc + jr, ldc, rows, columns, alpha, beta,
                                                  bias ? bias + jc + jr : NULL, pc == 0);
                            continue;
                        }
                        const uint32_t *aPanel = panelsA ? panelsA + (size_t)(ic + ir) * kUnits + (size_t)(pc / unit) * MR
                                                         : aPack + (size_t)ir * units;
                        kernel->tile(units, aPanel, bPanel,
                                     c + (ic + ir) * ldc + jc + jr, ldc, rows, columns, alpha, beta,
                                     bias ? bias + jc + jr : NULL, pc == 0);
                    }
                }
            }
        }
    }
}

/// Packs all of a B stored n×k (a linear layer's weight, rows `ld` apart)
/// into the panels `blocked_gemm` takes as `panelsB` (`width` NR), or an A
/// stored m×k into its `panelsA` (`width` MR): ceil(n / width) panels of
/// `width` rows of the source, each all of K's units in a row, rows past n zero.
__attribute__((always_inline))
static inline void pack_panels(const struct gemm_kernel *kernel, const void *b, sdgen_gemm_dtype bType,
                               ptrdiff_t ld, ptrdiff_t n, ptrdiff_t k, int width, uint32_t *panels) {
    const size_t bSize = bType == SDGEN_GEMM_F32 ? 4 : 2;
    const ptrdiff_t kUnits = (k + kernel->unit - 1) / kernel->unit;
    for (ptrdiff_t j = 0; j < n; j += width) {
        const int rows = (int)(n - j < width ? n - j : width);
        kernel->pack_rows((const char *)b + (size_t)j * ld * bSize, bType, ld, rows, (int)k, width,
                          panels + (size_t)j * kUnits);
    }
}

#endif
