// Attention, fused, with bf16 or f32 products: for a block of NR = 32 queries the
// whole score block lives in this thread's cache (keys × 32 floats: 512 KB at
// SD's 4096 tokens), is exponentiated in place and packed straight into the
// second product, so no score matrix goes through memory and K and V are
// packed once per call instead of once per GEMM.
//
// Everything runs transposed, keys down and queries across: Sᵀ = K·Qᵀ and
// Oᵀ = Vᵀ·Pᵀ. Then the softmax over keys is element-wise across rows (one
// query per lane, no horizontal reductions), Pᵀ packs as a B operand by
// interleaving row pairs, and the head dimension is the register tile's M
// side, whose height (12, 10 or 8 rows: `value_rows`) is chosen to fit it —
// 40 (SD's 64×64 level) needs no padding, where across it would pad to 48.
#include "cpu_kernels.h"
#include "microkernel.h"

#include <math.h>
#include <string.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,f16c,fma"))), apply_to = function)

#include "exp_avx512.h"  // inside the region: compiled for its instructions

static _Thread_local uint32_t *packedK, *packedV, *packedQ, *packedP;
static _Thread_local size_t packedKCapacity, packedVCapacity, packedQCapacity, packedPCapacity;
static _Thread_local uint32_t *scoreBuffer, *outputBuffer;
static _Thread_local size_t scoreCapacity, outputCapacity;

/// Rows of Vᵀ per register tile: of 12, 10 and 8, the one that pads the head
/// dimension least (the larger on a tie) — 40 (SD's 64×64 level) and 80 take
/// 10, 64 (BERT, SDXL) 8, where 12 rows padded them to 48, 84 and 72 and
/// spent a sixth, a twentieth and an eighth of the second product on zeros.
static int value_rows(int headDim) {
    int best = MR, padded = (headDim + MR - 1) / MR * MR;
    for (int r = 10; r >= 8; r -= 2)
        if ((headDim + r - 1) / r * r < padded) {
            best = r;
            padded = (headDim + r - 1) / r * r;
        }
    return best;
}

/// The Oᵀ rows of one Vᵀ panel: C[R × NR] = A panel · Pᵀ over `units`.
__attribute__((always_inline))
static inline void value_tile(int bf16, int R, int units, const uint32_t *a, const uint32_t *b, float *c) {
    __m512 acc[MR][2];
    accumulate(bf16, R, R, units, a, b, acc);
    store_tile(acc, R, c, NR, R, NR, 1, 0, NULL, 1);
}

/// A tile of scores Sᵀ = scale · K Qᵀ for `rows` keys from `firstKey`, with
/// the key bias and the causal mask applied as it is stored, and each query's
/// running maximum (a lane of `max`) taken from it there — no second pass
/// over the score block.
__attribute__((always_inline))
static inline void score_tile(int bf16, int units, const uint32_t *a, const uint32_t *b, float *scores, int rows,
                              float scale, ptrdiff_t firstKey, const float *keyBias, int causal,
                              ptrdiff_t firstQuery, __m512 max[2]) {
    __m512 acc[MR][2];
    accumulate(bf16, MR, MR, units, a, b, acc);
    const __m512 factor = _mm512_set1_ps(scale);
    const __m512i lane0 = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i lane1 = _mm512_add_epi32(lane0, _mm512_set1_epi32(16));
    const __m512 hidden = _mm512_set1_ps(-INFINITY);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {  // all MR, skipping rows past `rows`: keeps acc in registers (see store_tile)
        if (i >= rows) continue;
        const ptrdiff_t j = firstKey + i;
        __m512 s0 = _mm512_mul_ps(acc[i][0], factor), s1 = _mm512_mul_ps(acc[i][1], factor);
        if (keyBias) {
            const __m512 bias = _mm512_set1_ps(keyBias[j]);
            s0 = _mm512_add_ps(s0, bias);
            s1 = _mm512_add_ps(s1, bias);
        }
        if (causal) {
            // Query firstQuery + lane sees keys up to its own index.
            const ptrdiff_t firstSeeing = j - firstQuery;  // lanes below this are hidden
            const __m512i limit = _mm512_set1_epi32(firstSeeing < -1 ? -1 : firstSeeing > NR ? NR : (int)firstSeeing);
            s0 = _mm512_mask_mov_ps(s0, _mm512_cmplt_epi32_mask(lane0, limit), hidden);
            s1 = _mm512_mask_mov_ps(s1, _mm512_cmplt_epi32_mask(lane1, limit), hidden);
        }
        _mm512_store_ps(scores + i * NR, s0);
        _mm512_store_ps(scores + i * NR + 16, s1);
        max[0] = _mm512_max_ps(max[0], s0);
        max[1] = _mm512_max_ps(max[1], s1);
    }
}

/// The fused attention in either precision: bf16 panels hold k in pairs
/// (`step` 2), f32 panels one k per row, where Pᵀ, already [key][query] in
/// f32, is its own B panel.
__attribute__((always_inline))
static inline void attention(int bf16, const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                             const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                             ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                             const float *keyBias, int causal, ptrdiff_t firstQuery) {
    if (queries <= 0) return;
    const int d = headDim, step = bf16 ? 2 : 1;
    const int dUnits = (d + step - 1) / step;
    const ptrdiff_t keyTiles = (keys + MR - 1) / MR, paddedKeys = keyTiles * MR;
    const ptrdiff_t keyUnits = paddedKeys / step, usedKeyUnits = (keys + step - 1) / step;  // MR is even
    const int R = value_rows(d), dTiles = (d + R - 1) / R;

    // K as A panels (MR keys each, k along the head's columns); Vᵀ as A panels
    // (R of the head's columns each, k along keys); both once per call.
    uint32_t *kPack = reserve(&packedK, &packedKCapacity, (size_t)paddedKeys * dUnits);
    uint32_t *vPack = reserve(&packedV, &packedVCapacity, (size_t)dTiles * R * keyUnits);
    for (ptrdiff_t t = 0; t < keyTiles; t++) {
        const int rows = keys - t * MR < MR ? (int)(keys - t * MR) : MR;
        uint32_t *panel = kPack + (size_t)t * MR * dUnits;
        if (bf16) pack_rows(k + t * MR * ldk, SDGEN_GEMM_F32, ldk, rows, d, MR, panel);
        else pack_rows_f32(k + t * MR * ldk, SDGEN_GEMM_F32, ldk, rows, d, MR, (float *)panel);
    }
    for (int t = 0; t < dTiles; t++) {
        const int columns = d - t * R < R ? d - t * R : R;
        uint32_t *panel = vPack + (size_t)t * R * keyUnits;
        if (bf16) pack_columns(v + t * R, SDGEN_GEMM_F32, ldv, columns, (int)keys, R, panel);
        else pack_columns_f32(v + t * R, SDGEN_GEMM_F32, ldv, columns, (int)keys, R, (float *)panel);
        // P is zero past the last key, but V's padding must not be NaN garbage either.
        memset(panel + usedKeyUnits * R, 0, (size_t)(keyUnits - usedKeyUnits) * R * 4);
    }
    uint32_t *qPack = reserve(&packedQ, &packedQCapacity, (size_t)NR * dUnits);
    uint32_t *pPack = reserve(&packedP, &packedPCapacity, (size_t)keyUnits * NR);
    float *scores = (float *)reserve(&scoreBuffer, &scoreCapacity, (size_t)paddedKeys * NR);
    float *outputs = (float *)reserve(&outputBuffer, &outputCapacity, (size_t)dTiles * R * NR);

    for (ptrdiff_t q0 = 0; q0 < queries; q0 += NR) {
        const int live = queries - q0 < NR ? (int)(queries - q0) : NR;
        if (bf16) pack_rows(q + q0 * ldq, SDGEN_GEMM_F32, ldq, live, d, NR, qPack);
        else pack_rows_f32(q + q0 * ldq, SDGEN_GEMM_F32, ldq, live, d, NR, (float *)qPack);

        // Sᵀ = scale · K Qᵀ, a tile of MR keys × 32 queries at a time, masked,
        // with the maximum over keys of each query (one per lane).
        __m512 max[2] = {_mm512_set1_ps(-INFINITY), _mm512_set1_ps(-INFINITY)};
        for (ptrdiff_t t = 0; t < keyTiles; t++) {
            const int rows = keys - t * MR < MR ? (int)(keys - t * MR) : MR;
            score_tile(bf16, dUnits, kPack + (size_t)t * MR * dUnits, qPack, scores + t * MR * NR, rows, scale,
                       t * MR, keyBias, causal, firstQuery + q0, max);
        }
        __m512 max0 = max[0], max1 = max[1];
        // A query with every key hidden: exp(−∞ − 0) = 0 for all, so 0/0 = NaN
        // as PyTorch gives, instead of exp(−∞ + ∞) poisoning the product.
        max0 = _mm512_mask_mov_ps(max0, _mm512_cmpeq_ps_mask(max0, _mm512_set1_ps(-INFINITY)), _mm512_setzero_ps());
        max1 = _mm512_mask_mov_ps(max1, _mm512_cmpeq_ps_mask(max1, _mm512_set1_ps(-INFINITY)), _mm512_setzero_ps());

        // P = exp(S − max) in place, with its sums; padding keys are zero.
        __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0;
        for (ptrdiff_t j = 0; j < keys; j++) {
            float *row = scores + j * NR;
            const __m512 p0 = exp_nonpositive(_mm512_sub_ps(_mm512_load_ps(row), max0));
            const __m512 p1 = exp_nonpositive(_mm512_sub_ps(_mm512_load_ps(row + 16), max1));
            _mm512_store_ps(row, p0);
            _mm512_store_ps(row + 16, p1);
            sum0 = _mm512_add_ps(sum0, p0);
            sum1 = _mm512_add_ps(sum1, p1);
        }
        // Pᵀ as the B panel, padding keys zero: in f32 it is the score block
        // itself; in bf16 its rows are paired and rounded.
        const void *pPanel = scores;
        if (bf16) {
            pack_columns(scores, SDGEN_GEMM_F32, NR, NR, (int)keys, NR, pPack);
            memset(pPack + usedKeyUnits * NR, 0, (size_t)(keyUnits - usedKeyUnits) * NR * 4);
            pPanel = pPack;
        } else {
            memset(scores + keys * NR, 0, (size_t)(paddedKeys - keys) * NR * 4);
        }

        // Oᵀ = Vᵀ Pᵀ, then O = Oᵀ transposed and divided by the sums.
        for (int t = 0; t < dTiles; t++) {
            const uint32_t *panel = vPack + (size_t)t * R * keyUnits;
            float *tile = outputs + t * R * NR;
            switch (R) {  // the row count a constant in each copy of the loop
            case 8: value_tile(bf16, 8, (int)keyUnits, panel, pPanel, tile); break;
            case 10: value_tile(bf16, 10, (int)keyUnits, panel, pPanel, tile); break;
            default: value_tile(bf16, MR, (int)keyUnits, panel, pPanel, tile); break;
            }
        }
        float inverse[NR] __attribute__((aligned(64)));
        _mm512_store_ps(inverse, _mm512_div_ps(_mm512_set1_ps(1), sum0));
        _mm512_store_ps(inverse + 16, _mm512_div_ps(_mm512_set1_ps(1), sum1));
        for (int i = 0; i < live; i++) {
            float *row = o + (q0 + i) * ldo;
            for (int c = 0; c < d; c++) row[c] = outputs[c * NR + i] * inverse[i];
        }
    }
}

void sdgen_bf16_attention(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                          const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                          ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                          const float *keyBias, int causal, ptrdiff_t firstQuery) {
    attention(1, q, ldq, k, ldk, v, ldv, o, ldo, queries, keys, headDim, scale, keyBias, causal, firstQuery);
}

void sdgen_f32_attention(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                         const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                         ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                         const float *keyBias, int causal, ptrdiff_t firstQuery) {
    attention(0, q, ldq, k, ldk, v, ldv, o, ldo, queries, keys, headDim, scale, keyBias, causal, firstQuery);
}

#pragma clang attribute pop
