#ifndef SDGEN_CPU_KERNELS_H
#define SDGEN_CPU_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types the B operand may be stored in (weights stay as loaded).
typedef enum {
    SDGEN_GEMM_F32 = 0,
    SDGEN_GEMM_F16 = 1,
    SDGEN_GEMM_BF16 = 2,
} sdgen_gemm_dtype;

/// Whether this CPU has AVX-512 (F, BW, VL, DQ) with BF16 (VDPBF16PS), which
/// the bf16 kernels need.
int sdgen_bf16_gemm_supported(void);

/// Row-major C = alpha·op(A)·op(B) + beta·C with both operands rounded to
/// bfloat16 (round to nearest even) and products accumulated in f32, on the
/// calling thread. Call only where sdgen_bf16_gemm_supported() is true.
/// beta = 0 never reads C.
void sdgen_bf16_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                     const float *a, ptrdiff_t lda,
                     const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                     float beta, float *c, ptrdiff_t ldc);

/// sdgen_bf16_gemm's f32 twin (FMA, no rounding), for B stored f16 or bf16:
/// it widens B as it packs it, where sgemm would need a widened copy first.
/// Call only where sdgen_avx512_supported() is true.
void sdgen_f32_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                    const float *a, ptrdiff_t lda,
                    const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                    float beta, float *c, ptrdiff_t ldc);

/// Scaled dot-product attention of one head for `queries` consecutive query
/// rows, with bf16 products as sdgen_bf16_gemm's: scores = scale·q·kᵀ from
/// rounded q and k, plus `keyBias[j]` (may be NULL), with keys after query
/// `firstQuery + i` hidden when `causal`; softmax's exponentials (f32) rounded
/// as the operand of the product with rounded v; the division by their sum
/// after it. Rows are `ld*` floats apart; q, k, v and o point at the head's
/// first column. On the calling thread. Call only where
/// sdgen_bf16_gemm_supported() is true.
void sdgen_bf16_attention(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                          const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                          ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                          const float *keyBias, int causal, ptrdiff_t firstQuery);

/// Whether this CPU has the AVX-512 (F, BW, VL, DQ) that the f32 fused
/// attention needs.
int sdgen_avx512_supported(void);

/// sdgen_bf16_attention's f32 twin: the same fused computation with f32
/// products (FMA), no rounding. Call only where sdgen_avx512_supported().
void sdgen_f32_attention(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                         const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                         ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                         const float *keyBias, int causal, ptrdiff_t firstQuery);

#ifdef __cplusplus
}
#endif

#endif
