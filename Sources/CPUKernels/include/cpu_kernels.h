#ifndef SDGEN_CPU_KERNELS_H
#define SDGEN_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types the B operand may be stored in (weights stay as loaded).
typedef enum {
    SDGEN_GEMM_F32 = 0,
    SDGEN_GEMM_F16 = 1,
    SDGEN_GEMM_BF16 = 2,
} sdgen_gemm_dtype;

/// Serves every allocation of at least `bytes` by a mapping of its own, returned
/// to the system when freed, and stops the C library from raising that bound
/// as blocks are freed (glibc's dynamic mmap threshold).
void sdgen_fix_mmap_threshold(size_t bytes);

/// One participant's share of a parallel loop: `index` runs from 0 (the
/// calling thread) to participants - 1.
typedef void (*sdgen_pool_task)(void *context, int index);

/// Runs `task` once for every index below `participants` (≥ 2), index 0 on
/// the calling thread and the rest on the CPU backend's persistent workers,
/// and returns 1 when all have finished. Returns 0 without running anything
/// when the pool is busy (a loop inside a loop, or another thread's loop) or
/// cannot start its threads: the caller then runs its loop another way.
int sdgen_pool_run(int participants, sdgen_pool_task task, void *context);

/// Whether this CPU has AVX-512 (F, BW, VL, DQ) with BF16 (VDPBF16PS), which
/// the bf16 kernels need.
int sdgen_bf16_gemm_supported(void);

/// Row-major C = alpha·op(A)·op(B) + beta·C + bias with both operands rounded
/// to bfloat16 (round to nearest even) and products accumulated in f32, on the
/// calling thread. `bias` is NULL or n floats added to every row of C (as the
/// result is stored: no extra pass over C). Call only where
/// sdgen_bf16_gemm_supported() is true. beta = 0 never reads C.
void sdgen_bf16_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                     const float *a, ptrdiff_t lda,
                     const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                     float beta, const float *bias, float *c, ptrdiff_t ldc);

/// sdgen_bf16_gemm's f32 twin (FMA, no rounding): the AVX-512 kernel set's
/// product for every f32 product, B stored f32, f16 or bf16 (widened as it is
/// packed, where sgemm would need a widened copy first). Call only where
/// sdgen_avx512_supported() is true.
void sdgen_f32_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                    const float *a, ptrdiff_t lda,
                    const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                    float beta, const float *bias, float *c, ptrdiff_t ldc);

/// A convolution's NHWC input seen as the A operand of its GEMM without an
/// im2col copy: row p is output pixel p's receptive field, k = (ky, kx, c)
/// as the weights [Cout, kernel, kernel, C] are laid out, zero outside the
/// image.
typedef struct {
    const float *input;
    int height, width, channels;
    int outputHeight, outputWidth;
    int kernel, stride, padTop, padLeft;
} sdgen_conv_input;

/// C[pixels × n] = patches of output pixels firstPixel… · Wᵀ + bias (bias
/// NULL or n floats), W [n, kernel²·channels] stored f32, f16 or bf16, in
/// f32 (FMA) or with bf16 operands; on the calling thread. Needs channels a
/// multiple of 32 (a packed run of k never crosses a tap) and the same CPU
/// support as sdgen_f32_gemm / sdgen_bf16_gemm.
void sdgen_f32_conv_gemm(const sdgen_conv_input *x, ptrdiff_t firstPixel, ptrdiff_t pixels, ptrdiff_t n,
                         const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw, const float *bias,
                         float *c, ptrdiff_t ldc);
void sdgen_bf16_conv_gemm(const sdgen_conv_input *x, ptrdiff_t firstPixel, ptrdiff_t pixels, ptrdiff_t n,
                          const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw, const float *bias,
                          float *c, ptrdiff_t ldc);

/// Whether this CPU has AVX2, FMA and F16C, which the AVX2 kernel set needs.
/// Prepacked weights for the f32 products of the AVX-512 set (and, `_avx2`,
/// the AVX2 set): a B stored n×k (a linear layer's weight, any element type)
/// as ceil(n / columns) panels of `sdgen_f32_panel_columns()` columns, each
/// holding all of K as f32 (columns past n zero): ceil(n / columns) ·
/// columns · k floats, 64-byte aligned. `sdgen_f32_gemm_panels` is then
/// C = alpha·A·Bᵀ + beta·C + bias with B in that form, starting at a panel
/// (a column offset that is a multiple of the panel width).
int sdgen_f32_panel_columns(void);
void sdgen_f32_pack_panels(const void *b, sdgen_gemm_dtype bType, ptrdiff_t n, ptrdiff_t k, float *panels);
void sdgen_f32_gemm_panels(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                           const float *panels, float beta, const float *bias, float *c, ptrdiff_t ldc);
/// The bf16 kernel's panels (same width, k in bf16 pairs: ceil(n / columns)
/// · columns · ceil(k / 2) dwords) and its product over them.
void sdgen_bf16_pack_panels(const void *b, sdgen_gemm_dtype bType, ptrdiff_t n, ptrdiff_t k, uint32_t *panels);
void sdgen_bf16_gemm_panels(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                            const uint32_t *panels, float beta, const float *bias, float *c, ptrdiff_t ldc);
/// Both operands prepacked, for an A that meets many B (Winograd's
/// transformed tiles, against one chunk of kernels after another): an A stored
/// m×k (f32, rows `lda` apart) as ceil(m / rows) panels of
/// `sdgen_f32_panel_rows()` rows, each holding all of K (rows past m zero):
/// ceil(m / rows) · rows · k floats, 64-byte aligned. `sdgen_f32_gemm_a_panels`
/// is then C = A·Bᵀ + bias for B in `sdgen_f32_pack_panels`' form.
int sdgen_f32_panel_rows(void);
void sdgen_f32_pack_a_panels(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, float *panels);
void sdgen_f32_gemm_a_panels(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *panelsA, const float *panelsB,
                             const float *bias, float *c, ptrdiff_t ldc);
int sdgen_f32_panel_rows_avx2(void);
void sdgen_f32_pack_a_panels_avx2(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, float *panels);
void sdgen_f32_gemm_a_panels_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *panelsA,
                                  const float *panelsB, const float *bias, float *c, ptrdiff_t ldc);
/// Rows of A the GEMM driver takes per block (its MC, the same for every
/// kernel set and every depth: K is blocked short enough for it): a product
/// cut into runs of rows wastes nothing when they are multiples of it.
int sdgen_gemm_block_rows(void);
int sdgen_f32_panel_columns_avx2(void);
void sdgen_f32_pack_panels_avx2(const void *b, sdgen_gemm_dtype bType, ptrdiff_t n, ptrdiff_t k, float *panels);
void sdgen_f32_gemm_panels_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                                ptrdiff_t lda, const float *panels, float beta, const float *bias, float *c,
                                ptrdiff_t ldc);

int sdgen_avx2_supported(void);

/// sdgen_f32_gemm for CPUs with AVX2 + FMA only (a 6×16 register tile of ymm):
/// the same contract, B stored f32, f16 or bf16. Call only where
/// sdgen_avx2_supported() is true.
void sdgen_f32_gemm_avx2(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                         const float *a, ptrdiff_t lda,
                         const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                         float beta, const float *bias, float *c, ptrdiff_t ldc);

/// sdgen_f32_conv_gemm on the AVX2 kernel set: the same contract. Call only
/// where sdgen_avx2_supported() is true.
void sdgen_f32_conv_gemm_avx2(const sdgen_conv_input *x, ptrdiff_t firstPixel, ptrdiff_t pixels, ptrdiff_t n,
                              const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw, const float *bias,
                              float *c, ptrdiff_t ldc);

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

/// sdgen_f32_attention on the AVX2 kernel set (attention_avx2.c): the same
/// computation and contract. Call only where sdgen_avx2_supported().
void sdgen_f32_attention_avx2(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                              const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                              ptrdiff_t queries, ptrdiff_t keys, int headDim, float scale,
                              const float *keyBias, int causal, ptrdiff_t firstQuery);

/// y = GELU(x) = x·Φ(x), erf form, for n floats — times `multiplier`
/// element-wise where it is not NULL (GEGLU: the hidden half times GELU of
/// the gate) — on the calling thread (activations.c). Absolute error below
/// 1.5e-7·|x|. The AVX-512 version needs sdgen_avx512_supported(), the AVX2
/// one sdgen_avx2_supported().
void sdgen_gelu_avx512(const float *x, const float *multiplier, float *y, ptrdiff_t n);
void sdgen_gelu_avx2(const float *x, const float *multiplier, float *y, ptrdiff_t n);

/// y = x·σ(slope·x) for n floats (SiLU at slope 1, CLIP's quick GELU at
/// 1.702) on the calling thread (activations.c); x and y may be the same.
/// Relative error about 2 ulp. Needs what sdgen_gelu_avx512/_avx2 need.
void sdgen_sigmoid_times_avx512(const float *x, float slope, float *y, ptrdiff_t n);
void sdgen_sigmoid_times_avx2(const float *x, float slope, float *y, ptrdiff_t n);

/// Peak-rate loops (peak.c): `iterations` rounds of independent multiply-adds
/// on one thread, returning a sum so nothing is optimised away. Per round:
/// 16 FMAs of 16 lanes (avx512, 512 flops), 12 FMAs of 8 lanes (avx2, 192
/// flops), 16 VDPBF16PS of 16 lanes × 2 pairs (bf16, 1024 flops). Call each
/// only where its instructions exist.
float sdgen_peak_f32_avx512(long iterations, float x);
float sdgen_peak_f32_avx2(long iterations, float x);
float sdgen_peak_bf16(long iterations, float x);

#ifdef __cplusplus
}
#endif

#endif
