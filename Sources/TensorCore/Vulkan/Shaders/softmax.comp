#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Softmax over the last axis, one workgroup per row, in place allowed.
// Optionally adds a key mask row and masks keys after the query position
// (the score rows of the large-head-dim attention path).
#include "common.glsl"
#include "reduce.glsl"

layout(local_size_x = 256) in;
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
    for (uint j = t; j < p.width; j += 256u) m = max(m, score(base, row, j));
    m = workgroupMax(m);
    if (m == -1.0 / 0.0) {
        // Every key masked: zeros, as the CPU backend gives (not NaN).
        for (uint j = t; j < p.width; j += 256u) y[base + j] = 0.0;
        return;
    }
    float sum = 0.0;
    for (uint j = t; j < p.width; j += 256u) sum += exp(score(base, row, j) - m);
    float inverse = 1.0 / workgroupSum(sum);
    for (uint j = t; j < p.width; j += 256u) y[base + j] = exp(score(base, row, j) - m) * inverse;
}
