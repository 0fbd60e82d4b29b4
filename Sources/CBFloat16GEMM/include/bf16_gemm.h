#ifndef SDGEN_BF16_GEMM_H
#define SDGEN_BF16_GEMM_H

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

/// Whether this CPU has AVX-512 BF16 (VDPBF16PS), which the kernel needs.
int sdgen_bf16_gemm_supported(void);

/// Row-major C = alpha·op(A)·op(B) + beta·C with both operands rounded to
/// bfloat16 (round to nearest even) and products accumulated in f32, on the
/// calling thread. Call only where sdgen_bf16_gemm_supported() is true.
/// beta = 0 never reads C.
void sdgen_bf16_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                     const float *a, ptrdiff_t lda,
                     const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                     float beta, float *c, ptrdiff_t ldc);

#ifdef __cplusplus
}
#endif

#endif
