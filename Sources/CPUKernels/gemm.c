// The AVX-512 kernel set's GEMM, in two precisions. bf16 (`--precision bf16`,
// CPUs with AVX-512 BF16): VDPBF16PS does two multiply-adds per f32 lane,
// twice the rate of f32 FMA where it issues on two ports (measured on Zen 4:
// 234 vs 117 GFLOP/s per core; Intel's cores without AMX issue it on one, so
// there it only matches FMA). f32: every f32 product the models make, B
// stored f32, f16 or bf16 and widened as it is packed — so speed does not
// depend on whether the installed OpenBLAS recognises the CPU.
// The loops around the 12×32 register tile are gemm_blocking.h's.
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

static _Thread_local uint32_t *packedA, *packedB;
static _Thread_local size_t packedACapacity, packedBCapacity;

static void pack_rows_f32_units(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int rows, int kc,
                                int width, uint32_t *panel) {
    pack_rows_f32(source, type, ld, rows, kc, width, (float *)panel);
}

static void pack_columns_f32_units(const void *source, sdgen_gemm_dtype type, ptrdiff_t ld, int columns, int kc,
                                   int width, uint32_t *panel) {
    pack_columns_f32(source, type, ld, columns, kc, width, (float *)panel);
}

static void tile_f32(int depth, const uint32_t *a, const uint32_t *b, float *c, ptrdiff_t ldc, int rows,
                     int columns, float alpha, float beta, const float *bias, int first) {
    kernel_f32(depth, (const float *)a, (const float *)b, c, ldc, rows, columns, alpha, beta, bias, first);
}

static const struct gemm_kernel bf16Kernel = {MR, NR, 2, pack_rows, pack_columns, pack_patches, kernel, NULL};
static const struct gemm_kernel f32Kernel = {MR, NR, 1, pack_rows_f32_units, pack_columns_f32_units,
                                             pack_patches_f32, tile_f32, NULL};

void sdgen_bf16_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                     const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                     float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&bf16Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 transA, transB, m, n, k, alpha, a, lda, NULL, NULL, 0, b, bType, ldb, NULL, beta, bias, c, ldc);
}

void sdgen_f32_gemm(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                    const float *a, ptrdiff_t lda, const void *b, sdgen_gemm_dtype bType, ptrdiff_t ldb,
                    float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&f32Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 transA, transB, m, n, k, alpha, a, lda, NULL, NULL, 0, b, bType, ldb, NULL, beta, bias, c, ldc);
}

// A linear layer's f32 weight packed once (at its first product) instead of
// at every product: with few rows (BERT's 128 tokens) packing B — a cold
// read of the whole weight, transposed in registers — was a fifth of each
// product's time.
int sdgen_f32_panel_columns(void) { return NR; }

void sdgen_f32_pack_panels(const void *b, sdgen_gemm_dtype bType, ptrdiff_t n, ptrdiff_t k, float *panels) {
    pack_panels(&f32Kernel, b, bType, k, n, k, NR, (uint32_t *)panels);
}

void sdgen_f32_gemm_panels(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                           const float *panels, float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&f32Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, m, n, k, alpha, a, lda, NULL, NULL, 0, NULL, SDGEN_GEMM_F32, k, (const uint32_t *)panels,
                 beta, bias, c, ldc);
}

int sdgen_f32_panel_rows(void) { return MR; }

void sdgen_f32_pack_a_panels(const float *a, ptrdiff_t lda, ptrdiff_t m, ptrdiff_t k, float *panels) {
    pack_panels(&f32Kernel, a, SDGEN_GEMM_F32, lda, m, k, MR, (uint32_t *)panels);
}

void sdgen_f32_gemm_a_panels(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *panelsA, const float *panelsB,
                             const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&f32Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, m, n, k, 1, NULL, 0, (const uint32_t *)panelsA, NULL, 0, NULL, SDGEN_GEMM_F32, k,
                 (const uint32_t *)panelsB, 0, bias, c, ldc);
}

// The same for bf16 products: the weight rounded to bf16 pairs once, in half
// an f32 weight's bytes.
void sdgen_bf16_pack_panels(const void *b, sdgen_gemm_dtype bType, ptrdiff_t n, ptrdiff_t k, uint32_t *panels) {
    pack_panels(&bf16Kernel, b, bType, k, n, k, NR, panels);
}

void sdgen_bf16_gemm_panels(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda,
                            const uint32_t *panels, float beta, const float *bias, float *c, ptrdiff_t ldc) {
    blocked_gemm(&bf16Kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, m, n, k, alpha, a, lda, NULL, NULL, 0, NULL, SDGEN_GEMM_F32, k, panels, beta, bias, c, ldc);
}

// Convolutions as products over their implicit patch matrix: A packed
// straight from the input, so a block of output pixels needs no im2col copy
// and can be as large as the product wants (B, the weights, is then packed
// once per block of output channels instead of once per block of pixels).
__attribute__((always_inline))
static inline void conv_gemm(const struct gemm_kernel *kernel, const sdgen_conv_input *x, ptrdiff_t firstPixel,
                             ptrdiff_t pixels, ptrdiff_t n, const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw,
                             const float *bias, float *c, ptrdiff_t ldc) {
    const ptrdiff_t k = (ptrdiff_t)x->kernel * x->kernel * x->channels;
    blocked_gemm(kernel, &packedA, &packedACapacity, &packedB, &packedBCapacity,
                 0, 1, pixels, n, k, 1, NULL, 0, NULL, x, firstPixel, w, wType, ldw, NULL, 0, bias, c, ldc);
}

void sdgen_bf16_conv_gemm(const sdgen_conv_input *x, ptrdiff_t firstPixel, ptrdiff_t pixels, ptrdiff_t n,
                          const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw, const float *bias,
                          float *c, ptrdiff_t ldc) {
    conv_gemm(&bf16Kernel, x, firstPixel, pixels, n, w, wType, ldw, bias, c, ldc);
}

void sdgen_f32_conv_gemm(const sdgen_conv_input *x, ptrdiff_t firstPixel, ptrdiff_t pixels, ptrdiff_t n,
                         const void *w, sdgen_gemm_dtype wType, ptrdiff_t ldw, const float *bias,
                         float *c, ptrdiff_t ldc) {
    conv_gemm(&f32Kernel, x, firstPixel, pixels, n, w, wType, ldw, bias, c, ldc);
}

#pragma clang attribute pop
