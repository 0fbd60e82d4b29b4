#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// The second pass of a split-K product (gemm_operands.glsl's kSlice): C =
// act(alpha · Σ_slices partial + bias) + residual (epilogue.glsl). Products with few output tiles and a long
// K (SD's 8×8 and 16×16 levels, BERT at 128 tokens) give too few workgroups
// to fill a large GPU; their K is split over workgroups and summed here.
#include "common.glsl"
#include "weights.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer P { float partial[]; };   // [slices, M, N]
layout(binding = 1) readonly buffer Bias { WTYPE bias[]; };
layout(binding = 2) writeonly buffer C { float c[]; };
layout(binding = 3) readonly buffer Residual { float residual[]; };
#include "epilogue.glsl"

layout(push_constant) uniform Params {
    uint count;     // M·N
    uint n;
    uint slices;
    float alpha;
    uint epilogue;
    uint cOffset, cRowStride;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    float sum = 0.0;
    for (uint s = 0u; s < p.slices; ++s) sum += partial[s * p.count + i];
    uint m = i / p.n, col = i % p.n;
    float v = p.alpha * sum;
    if ((p.epilogue & EPILOGUE_BIAS) != 0u) v += float(bias[col]);
    uint index = p.cOffset + m * p.cRowStride + col;
    c[index] = finishElement(p.epilogue, v, index);
}
