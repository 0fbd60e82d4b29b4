// attention.c's fused attention for the AVX2 kernel set (f32 products): the
// same transposed computation — Sᵀ = K·Qᵀ a tile of MR2 keys × NR2 = 16
// queries at a time, the softmax across rows with one query per lane, Pᵀ its
// own B panel, Oᵀ = Vᵀ·Pᵀ — on microkernel_avx2.h's 6×16 tile. A block of 16
// queries keeps keys × 64 bytes of scores (256 KB at SD's 4096 tokens), which
// an L2 of 512 KB (Zen 3) holds; the two GEMMs around a softmax that the set
// ran before wrote a 2 MB score block per 128 queries through memory and
// packed K and V again for every block.
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

static _Thread_local uint32_t *packedK, *packedV, *packedQ;
static _Thread_local size_t packedKCapacity, packedVCapacity, packedQCapacity;
static _Thread_local uint32_t *scoreBuffer, *outputBuffer;
static _Thread_local size_t scoreCapacity, outputCapacity;

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

/// The Oᵀ rows of one Vᵀ panel: C[R × NR2] = A panel · Pᵀ over `keys`.
__attribute__((always_inline))
static inline void value_tile8(int R, ptrdiff_t keys, const uint32_t *a, const float *p, float *c) {
    __m256 acc[MR2][2];
    accumulate8(R, R, (int)keys, a, (const uint32_t *)p, acc);
    for (int i = 0; i < R; i++) {
        _mm256_store_ps(c + i * NR2, acc[i][0]);
        _mm256_store_ps(c + i * NR2 + 8, acc[i][1]);
    }
}

/// A tile of scores Sᵀ = scale · K Qᵀ for `rows` keys from `firstKey`, with
/// the key bias and the causal mask applied as it is stored, and each query's
/// running maximum (a lane of `max`) taken from it there.
__attribute__((always_inline))
static inline void score_tile8(int d, const uint32_t *a, const uint32_t *b, float *scores, int rows, float scale,
                               ptrdiff_t firstKey, const float *keyBias, int causal, ptrdiff_t firstQuery,
                               __m256 max[2]) {
    __m256 acc[MR2][2];
    accumulate8(MR2, MR2, d, a, b, acc);
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

void sdgen_f32_attention_avx2(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                              const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                              ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                              const float *keyBias, int causal, ptrdiff_t firstQuery) {
    if (queries <= 0) return;
    const int d = headDim;
    const ptrdiff_t keyTiles = (keys + MR2 - 1) / MR2, paddedKeys = keyTiles * MR2;
    const int R = value_rows8(d), dTiles = (d + R - 1) / R;

    // K as A panels (MR2 keys each, k along the head's columns); Vᵀ as A
    // panels (R of the head's columns each, k along keys); both once per call.
    uint32_t *kPack = reserve(&packedK, &packedKCapacity, (size_t)paddedKeys * d);
    uint32_t *vPack = reserve(&packedV, &packedVCapacity, (size_t)dTiles * R * paddedKeys);
    for (ptrdiff_t t = 0; t < keyTiles; t++) {
        const int rows = keys - t * MR2 < MR2 ? (int)(keys - t * MR2) : MR2;
        pack_rows8(k + t * MR2 * ldk, SDGEN_GEMM_F32, ldk, rows, d, MR2, kPack + (size_t)t * MR2 * d);
    }
    for (int t = 0; t < dTiles; t++) {
        const int columns = d - t * R < R ? d - t * R : R;
        uint32_t *panel = vPack + (size_t)t * R * paddedKeys;
        pack_columns8(v + t * R, SDGEN_GEMM_F32, ldv, columns, (int)keys, R, panel);
        // P is zero past the last key, but V's padding must not be NaN garbage either.
        memset(panel + keys * R, 0, (size_t)(paddedKeys - keys) * R * 4);
    }
    float *qPack = (float *)reserve(&packedQ, &packedQCapacity, (size_t)NR2 * d);
    float *scores = (float *)reserve(&scoreBuffer, &scoreCapacity, (size_t)paddedKeys * NR2);
    float *outputs = (float *)reserve(&outputBuffer, &outputCapacity, (size_t)dTiles * R * NR2);

    for (ptrdiff_t q0 = 0; q0 < queries; q0 += NR2) {
        const int live = queries - q0 < NR2 ? (int)(queries - q0) : NR2;
        pack_rows8(q + q0 * ldq, SDGEN_GEMM_F32, ldq, live, d, NR2, (uint32_t *)qPack);

        // Sᵀ = scale · K Qᵀ, masked, with the maximum over keys of each query.
        __m256 max[2] = {_mm256_set1_ps(-INFINITY), _mm256_set1_ps(-INFINITY)};
        for (ptrdiff_t t = 0; t < keyTiles; t++) {
            const int rows = keys - t * MR2 < MR2 ? (int)(keys - t * MR2) : MR2;
            score_tile8(d, kPack + (size_t)t * MR2 * d, (const uint32_t *)qPack, scores + t * MR2 * NR2, rows,
                        scale, t * MR2, keyBias, causal, firstQuery + q0, max);
        }
        // A query with every key hidden: exp(−∞ − 0) = 0 for all, so 0/0 = NaN
        // as PyTorch gives, instead of exp(−∞ + ∞) poisoning the product.
        const __m256 none = _mm256_set1_ps(-INFINITY);
        const __m256 max0 = _mm256_andnot_ps(_mm256_cmp_ps(max[0], none, _CMP_EQ_OQ), max[0]);
        const __m256 max1 = _mm256_andnot_ps(_mm256_cmp_ps(max[1], none, _CMP_EQ_OQ), max[1]);

        // P = exp(S − max) in place, with its sums; padding keys are zero.
        __m256 sum0 = _mm256_setzero_ps(), sum1 = sum0;
        for (ptrdiff_t j = 0; j < keys; j++) {
            float *row = scores + j * NR2;
            const __m256 p0 = exp_nonpositive8(_mm256_sub_ps(_mm256_load_ps(row), max0));
            const __m256 p1 = exp_nonpositive8(_mm256_sub_ps(_mm256_load_ps(row + 8), max1));
            _mm256_store_ps(row, p0);
            _mm256_store_ps(row + 8, p1);
            sum0 = _mm256_add_ps(sum0, p0);
            sum1 = _mm256_add_ps(sum1, p1);
        }
        memset(scores + keys * NR2, 0, (size_t)(paddedKeys - keys) * NR2 * 4);

        // Oᵀ = Vᵀ Pᵀ, then O = Oᵀ transposed and divided by the sums.
        for (int t = 0; t < dTiles; t++) {
            const uint32_t *panel = vPack + (size_t)t * R * paddedKeys;
            float *tile = outputs + t * R * NR2;
            switch (R) {  // the row count a constant in each copy of the loop
            case 4: value_tile8(4, paddedKeys, panel, scores, tile); break;
            case 5: value_tile8(5, paddedKeys, panel, scores, tile); break;
            default: value_tile8(MR2, paddedKeys, panel, scores, tile); break;
            }
        }
        float inverse[NR2] __attribute__((aligned(32)));
        _mm256_store_ps(inverse, _mm256_div_ps(_mm256_set1_ps(1), sum0));
        _mm256_store_ps(inverse + 8, _mm256_div_ps(_mm256_set1_ps(1), sum1));
        for (int i = 0; i < live; i++) {
            float *row = o + (q0 + i) * ldo;
            for (int c = 0; c < d; c++) row[c] = outputs[c * NR2 + i] * inverse[i];
        }
    }
}

#pragma clang attribute pop
