#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Softmax over the last axis, one workgroup per row, in place allowed.
// Optionally adds a key mask row and masks keys after the query position
// (the score rows of the large-head-dim attention path).
#include "common.glsl"

// As many invocations as the row has elements, rounded up to a power of two
// from 32 to 256 (VulkanBackend.rowThreads): narrow rows (a tiny model's, a
// short prompt's scores) leave no idle invocations waiting at the barriers.
layout(constant_id = 0) const uint THREADS = 256;
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };
layout(binding = 2) readonly buffer M { float mask[]; };

layout(push_constant) uniform Params {
    uint rows;
    uint width;
    uint hasMask;       // add mask[maskOffset + j]
    uint maskOffset;
    uint causal;        // row r sees keys j ≤ firstQuery + r
    uint firstQuery;
} p;

float score(uint base, uint row, uint j) {
    float s = x[base + j];
    if (p.hasMask != 0u) s += mask[p.maskOffset + j];
    if (p.causal != 0u && j > p.firstQuery + row) s = -1.0 / 0.0;
    return s;
}

void main() {
    uint row = flatGroup();
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint base = row * p.width;
    float m = -1.0 / 0.0;
    for (uint j = t; j < p.width; j += THREADS) m = max(m, score(base, row, j));
    m = workgroupMax(m);
    if (m == -1.0 / 0.0) {
        // Every key masked: zeros, as the CPU backend gives (not NaN).
        for (uint j = t; j < p.width; j += THREADS) y[base + j] = 0.0;
        return;
    }
    float sum = 0.0;
    for (uint j = t; j < p.width; j += THREADS) sum += exp(score(base, row, j) - m);
    float inverse = 1.0 / workgroupSum(sum);
    for (uint j = t; j < p.width; j += THREADS) y[base + j] = exp(score(base, row, j) - m) * inverse;
}
