// The operands of sdgen's matrix products, shared by the tiled and the
// cooperative-matrix kernels:
//   C[b, m, n] = act(alpha · Σ_k A(b, m, k) · B(b, k, n) + bias[n]) + R[b, m, n]
// with the activation and the residual R (laid out as C) optional: a linear
// layer's activation and skip connection applied as each element is stored,
// not as two more passes over C.
// A is an activation read through strides (any transpose of a batched
// matrix) or, in the CONV variants, the implicit im2col matrix of an NHWC
// image (never materialised) from element aOffset on (a window of a large
// image: see VulkanBackend+Windows.swift); B is read through strides, in f32
// or f16 (WEIGHT_F16). Out-of-range elements read as zero.

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { WTYPE b[]; };
layout(binding = 2) readonly buffer Bias { WTYPE bias[]; };
layout(binding = 3) writeonly buffer C { float c[]; };
layout(binding = 4) readonly buffer Residual { float residual[]; };

#include "common.glsl"
#include "epilogue.glsl"

layout(push_constant) uniform Params {
    uint M, N, K;
    uint aOffset, aBatchStride, aRowStride, aColumnStride;     // A(b, m, k) = a[aOffset + b·aBatchStride + m·aRowStride + k·aColumnStride]
    uint bOffset, bBatchStride, bRowStride, bColumnStride;     // B(b, k, n) = b[bOffset + b·bBatchStride + k·bRowStride + n·bColumnStride]
    uint cOffset, cBatchStride, cRowStride;                     // C(b, m, n) = c[cOffset + b·cBatchStride + m·cRowStride + n]
    float alpha;
    uint epilogue;      // epilogue.glsl's EPILOGUE_* bits and activation code
    // Convolution (CONV variants): input [·, H, W, Cin], output width and
    // pixels per image, square kernel, stride, top/left padding.
    uint height, width, inChannels, outWidth, outPixels, kernel, stride, padTop, padLeft;
    // Split K (0: off): workgroup z is the slice, which sums K from
    // z·kSlice on (a multiple of every kernel's BK) into its own [M, N]
    // block of C at z·cBatchStride; gemm_splitk_sum.comp adds the blocks.
    // Only for unbatched products (A and B batch strides 0).
    uint kSlice;
    // Which operands the host found aligned for 16-byte loads (VECTOR_* in gemm_tiles.glsl).
    uint vectorized;
} p;

// The K range this workgroup sums.
uint kBegin() { return p.kSlice == 0u ? 0u : gl_WorkGroupID.z * p.kSlice; }
uint kEnd() { return p.kSlice == 0u ? p.K : min(p.K, kBegin() + p.kSlice); }

float loadA(uint batch, uint m, uint k) {
    if (m >= p.M || k >= p.K) return 0.0;
#ifdef CONV
    uint image = m / p.outPixels, pixel = m % p.outPixels;
    uint oy = pixel / p.outWidth, ox = pixel % p.outWidth;
    uint ci = k % p.inChannels, tap = k / p.inChannels;
    int iy = int(oy * p.stride + tap / p.kernel) - int(p.padTop);
    int ix = int(ox * p.stride + tap % p.kernel) - int(p.padLeft);
    if (iy < 0 || ix < 0 || iy >= int(p.height) || ix >= int(p.width)) return 0.0;
    return a[p.aOffset + ((image * p.height + uint(iy)) * p.width + uint(ix)) * p.inChannels + ci];
#else
    return a[p.aOffset + batch * p.aBatchStride + m * p.aRowStride + k * p.aColumnStride];
#endif
}

// B's column for logical column n (gated products pair value and gate columns).
uint bColumn(uint n) { return gated(p.epilogue) ? gatedColumn(n, p.N) : n; }

float loadB(uint batch, uint k, uint n) {
    if (k >= p.K || n >= p.N) return 0.0;
    return float(b[p.bOffset + batch * p.bBatchStride + k * p.bRowStride + bColumn(n) * p.bColumnStride]);
}

// Whether consecutive k are adjacent in memory (then tile loads walk k).
bool aAlongK() {
#ifdef CONV
    return true;
#else
    return p.aColumnStride == 1u;
#endif
}

bool bAlongK() { return p.bRowStride == 1u; }

// alpha · a sum, plus B column `column`'s bias where there is one.
float biased(float acc, uint column) {
    float v = p.alpha * acc;
    if ((p.epilogue & EPILOGUE_BIAS) != 0u) v += float(bias[column]);
    return v;
}

void storeC(uint batch, uint m, uint n, float acc) {
    if (m >= p.M || n >= p.N) return;
    uint i = p.cOffset + batch * p.cBatchStride + m * p.cRowStride + n;
    c[i] = finishElement(p.epilogue, biased(acc, n), i);
}
