// attention.c's fused attention for the AVX2 kernel set (f32 products): the
// same transposed computation — Sᵀ = K·Qᵀ a tile of MR2 keys × NR2 = 16
// queries at a time, the softmax across rows with one query per lane, Pᵀ its
// own B panel, Oᵀ = Vᵀ·Pᵀ — on microkernel_avx2.h's 6×16 tile, but over
// blocks of keys with a running softmax (flash attention's order): a block's
// K rows and Vᵀ panels (KEY_BLOCK keys, 60 KB at SD's head of 40) stay in L2
// while every query of the call passes over them, each block of 16 queries
// keeping its Qᵀ panel, running Oᵀ, maximum and sum between blocks. Taking
// all keys per block of queries instead streamed the whole head's K and V
// (1.3 MB at 4096 keys) from L3 for every 16 queries, on L2s of 512 KB (Zen 3).
#include "cpu_kernels.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

#include "exp_avx2.h"
#include "gemm_blocking.h"  // reserve
#include "microkernel_avx2.h"

static _Thread_local uint32_t *packedV, *packedQ;
static _Thread_local size_t packedVCapacity, packedQCapacity;
static _Thread_local uint32_t *scoreBuffer, *stateBuffer;
static _Thread_local size_t scoreCapacity, stateCapacity;

/// Keys per block: 32 tiles of MR2. Its K and V panels (60 KB at a head of
/// 40, 240 KB at 160) stay in L2, its scores (12 KB) in L1.
enum { KEY_BLOCK = 192 };
_Static_assert(KEY_BLOCK % MR2 == 0, "the buffers hold KEY_BLOCK keys: a block's key tiles must not pad past it");

/// Rows of Vᵀ per register tile: of 6, 5 and 4, the one that pads the head
/// dimension least (the larger on a tie) — SD's 40, 80 and 160 take 5, 64
/// (BERT, SD 2.x, SDXL) 4: no zeros multiplied.
static int value_rows8(int headDim) {
    int best = MR2, padded = (headDim + MR2 - 1) / MR2 * MR2;
    for (int r = MR2 - 1; r >= 4; r--)
        if ((headDim + r - 1) / r * r < padded) {
            best = r;
            padded = (headDim + r - 1) / r * r;
        }
    return best;
}

/// The Oᵀ rows of one Vᵀ panel over a block of keys, into the running ones:
/// C[R × NR2] = alpha·C + A panel · Pᵀ, alpha a factor per query (lane).
__attribute__((always_inline))
static inline void value_tile8(int R, int keys, const uint32_t *a, const float *p, const __m256 alpha[2], float *c) {
    __m256 acc[MR2][2];
    accumulate8(R, R, keys, a, (const uint32_t *)p, acc);
    for (int i = 0; i < R; i++) {
        float *row = c + i * NR2;
        _mm256_store_ps(row, _mm256_fmadd_ps(_mm256_load_ps(row), alpha[0], acc[i][0]));
        _mm256_store_ps(row + 8, _mm256_fmadd_ps(_mm256_load_ps(row + 8), alpha[1], acc[i][1]));
    }
}

/// A tile of scores Sᵀ = scale · K Qᵀ for `rows` keys from `firstKey`, with
/// the key bias and the causal mask applied as it is stored, and each query's
/// running maximum (a lane of `max`) taken from it there.
__attribute__((always_inline))
static inline void score_tile8(int d, const float *k, ptrdiff_t ldk, const uint32_t *b, float *scores, int rows,
                               float scale, ptrdiff_t firstKey, const float *keyBias, int causal,
                               ptrdiff_t firstQuery, __m256 max[2]) {
    __m256 acc[MR2][2];
    accumulate_rows8(MR2, rows, ldk, d, k, b, acc);
    const __m256 factor = _mm256_set1_ps(scale), hidden = _mm256_set1_ps(-INFINITY);
    const __m256i lane0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lane1 = _mm256_add_epi32(lane0, _mm256_set1_epi32(8));
#pragma clang loop unroll(full)
    for (int i = 0; i < MR2; i++) {
        if (i >= rows) continue;
        const ptrdiff_t j = firstKey + i;
        __m256 s0 = _mm256_mul_ps(acc[i][0], factor), s1 = _mm256_mul_ps(acc[i][1], factor);
        if (keyBias) {
            const __m256 bias = _mm256_set1_ps(keyBias[j]);
            s0 = _mm256_add_ps(s0, bias);
            s1 = _mm256_add_ps(s1, bias);
        }
        if (causal) {
            // Query firstQuery + lane sees keys up to its own index.
            const ptrdiff_t firstSeeing = j - firstQuery;  // lanes below this are hidden
            const __m256i limit = _mm256_set1_epi32(firstSeeing < -1 ? -1 : firstSeeing > NR2 ? NR2 : (int)firstSeeing);
            s0 = _mm256_blendv_ps(s0, hidden, _mm256_castsi256_ps(_mm256_cmpgt_epi32(limit, lane0)));
            s1 = _mm256_blendv_ps(s1, hidden, _mm256_castsi256_ps(_mm256_cmpgt_epi32(limit, lane1)));
        }
        _mm256_store_ps(scores + i * NR2, s0);
        _mm256_store_ps(scores + i * NR2 + 8, s1);
        max[0] = _mm256_max_ps(max[0], s0);
        max[1] = _mm256_max_ps(max[1], s1);
    }
}

/// 0 where every key so far is hidden (−∞), else the running maximum: the
/// reference the exponentials are taken from. A query with every key hidden
/// then gets exp(−∞ − 0) = 0 for all, so 0/0 = NaN as PyTorch gives, instead
/// of exp(−∞ + ∞) poisoning the product.
static inline __m256 reference(__m256 max) {
    return _mm256_andnot_ps(_mm256_cmp_ps(max, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ), max);
}

void sdgen_f32_attention_avx2(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                              const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                              ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                              const float *keyBias, int causal, ptrdiff_t firstQuery) {
    if (queries <= 0) return;
    const int d = headDim;
    const int R = value_rows8(d), dTiles = (d + R - 1) / R, dPadded = dTiles * R;
    const ptrdiff_t queryBlocks = (queries + NR2 - 1) / NR2;
    // Per block of 16 queries: its Qᵀ panel, and its state — Oᵀ (dPadded rows
    // of 16), then the running maximum and sum of each query.
    const size_t stateFloats = (size_t)(dPadded + 2) * NR2;
    float *qPack = (float *)reserve(&packedQ, &packedQCapacity, (size_t)queryBlocks * NR2 * d);
    float *states = (float *)reserve(&stateBuffer, &stateCapacity, (size_t)queryBlocks * stateFloats);
    uint32_t *vPack = reserve(&packedV, &packedVCapacity, (size_t)dTiles * R * KEY_BLOCK);
    float *scores = (float *)reserve(&scoreBuffer, &scoreCapacity, (size_t)KEY_BLOCK * NR2);
    for (ptrdiff_t b = 0; b < queryBlocks; b++) {
        const int live = queries - b * NR2 < NR2 ? (int)(queries - b * NR2) : NR2;
        pack_rows8(q + b * NR2 * ldq, SDGEN_GEMM_F32, ldq, live, d, NR2, (uint32_t *)(qPack + (size_t)b * NR2 * d));
        float *state = states + (size_t)b * stateFloats;
        memset(state, 0, (size_t)dPadded * NR2 * 4);
        for (int i = 0; i < NR2; i++) { state[dPadded * NR2 + i] = -INFINITY; state[(dPadded + 1) * NR2 + i] = 0; }
    }

    for (ptrdiff_t k0 = 0; k0 < keys; k0 += KEY_BLOCK) {
        const int blockKeys = keys - k0 < KEY_BLOCK ? (int)(keys - k0) : KEY_BLOCK;
        const int keyTiles = (blockKeys + MR2 - 1) / MR2, paddedKeys = keyTiles * MR2;
        // Vᵀ as A panels (R of the head's columns each, k along the block's
        // keys). K is read in place, MR2 rows a tile (`accumulate_rows8`):
        // packing it was 4% of BERT's attention at 512 keys, and its rows stay
        // in L2 between blocks of queries as the panels did.
        for (int t = 0; t < dTiles; t++) {
            const int columns = d - t * R < R ? d - t * R : R;
            uint32_t *panel = vPack + (size_t)t * R * paddedKeys;
            // Each key's R values side by side: a plain copy. (pack_columns8
            // staged every run shorter than 8 through a zeroed copy and a
            // masked store: with R = 4, 11% of BERT's attention at 512 keys.)
            float *values = (float *)panel;
            const float *source = v + k0 * ldv + t * R;
            for (int j = 0; j < blockKeys; j++) {
                memcpy(values + (size_t)j * R, source + j * ldv, (size_t)columns * 4);
                for (int r = columns; r < R; r++) values[(size_t)j * R + r] = 0;
            }
            // P is zero past the last key, but V's padding must not be NaN garbage either.
            memset(panel + (size_t)blockKeys * R, 0, (size_t)(paddedKeys - blockKeys) * R * 4);
        }

        for (ptrdiff_t b = 0; b < queryBlocks; b++) {
            float *state = states + (size_t)b * stateFloats;
            float *runningMax = state + dPadded * NR2, *runningSum = runningMax + NR2;
            // Sᵀ = scale · K Qᵀ, masked, the running maximum taken over it.
            const __m256 before[2] = {_mm256_load_ps(runningMax), _mm256_load_ps(runningMax + 8)};
            __m256 max[2] = {before[0], before[1]};
            for (int t = 0; t < keyTiles; t++) {
                const int rows = blockKeys - t * MR2 < MR2 ? blockKeys - t * MR2 : MR2;
                score_tile8(d, k + (k0 + t * MR2) * ldk, ldk, (const uint32_t *)(qPack + (size_t)b * NR2 * d),
                            scores + t * MR2 * NR2, rows, scale, k0 + t * MR2, keyBias, causal,
                            firstQuery + b * NR2, max);
            }
            const __m256 max0 = reference(max[0]), max1 = reference(max[1]);
            // What the block's new maximum makes of the sums and outputs so far.
            const __m256 alpha[2] = {exp_nonpositive8(_mm256_sub_ps(before[0], max0)),
                                     exp_nonpositive8(_mm256_sub_ps(before[1], max1))};

            // P = exp(S − max) in place, with its sums; padding keys are zero.
            __m256 sum0 = _mm256_setzero_ps(), sum1 = sum0;
            for (int j = 0; j < blockKeys; j++) {
                float *row = scores + j * NR2;
                const __m256 p0 = exp_nonpositive8(_mm256_sub_ps(_mm256_load_ps(row), max0));
                const __m256 p1 = exp_nonpositive8(_mm256_sub_ps(_mm256_load_ps(row + 8), max1));
                _mm256_store_ps(row, p0);
                _mm256_store_ps(row + 8, p1);
                sum0 = _mm256_add_ps(sum0, p0);
                sum1 = _mm256_add_ps(sum1, p1);
            }
            memset(scores + blockKeys * NR2, 0, (size_t)(paddedKeys - blockKeys) * NR2 * 4);
            _mm256_store_ps(runningMax, max[0]);
            _mm256_store_ps(runningMax + 8, max[1]);
            _mm256_store_ps(runningSum, _mm256_fmadd_ps(_mm256_load_ps(runningSum), alpha[0], sum0));
            _mm256_store_ps(runningSum + 8, _mm256_fmadd_ps(_mm256_load_ps(runningSum + 8), alpha[1], sum1));

            // Oᵀ = alpha·Oᵀ + Vᵀ Pᵀ.
            for (int t = 0; t < dTiles; t++) {
                const uint32_t *panel = vPack + (size_t)t * R * paddedKeys;
                float *tile = state + t * R * NR2;
                switch (R) {  // the row count a constant in each copy of the loop
                case 4: value_tile8(4, paddedKeys, panel, scores, alpha, tile); break;
                case 5: value_tile8(5, paddedKeys, panel, scores, alpha, tile); break;
                default: value_tile8(MR2, paddedKeys, panel, scores, alpha, tile); break;
                }
            }
        }
    }

    // O = Oᵀ transposed and divided by the sums.
    for (ptrdiff_t b = 0; b < queryBlocks; b++) {
        const int live = queries - b * NR2 < NR2 ? (int)(queries - b * NR2) : NR2;
        const float *state = states + (size_t)b * stateFloats, *sums = state + (dPadded + 1) * NR2;
        float inverse[NR2];
        for (int i = 0; i < NR2; i++) inverse[i] = 1 / sums[i];
        // Eight queries × eight of the head's columns at a time, transposed in
        // registers; the ragged rest one value at a time.
        const int fullColumns = d / 8 * 8, fullQueries = live / 8 * 8;
        for (int i0 = 0; i0 < fullQueries; i0 += 8)
            for (int c0 = 0; c0 < fullColumns; c0 += 8) {
                __m256 block[8];
                for (int r = 0; r < 8; r++) block[r] = _mm256_load_ps(state + (c0 + r) * NR2 + i0);
                transpose8(block);
                for (int r = 0; r < 8; r++)
                    _mm256_storeu_ps(o + (b * NR2 + i0 + r) * ldo + c0,
                                     _mm256_mul_ps(block[r], _mm256_set1_ps(inverse[i0 + r])));
            }
        for (int i = 0; i < live; i++) {
            float *row = o + (b * NR2 + i) * ldo;
            for (int c = i < fullQueries ? fullColumns : 0; c < d; c++) row[c] = state[c * NR2 + i] * inverse[i];
        }
    }
}

#pragma clang attribute pop
