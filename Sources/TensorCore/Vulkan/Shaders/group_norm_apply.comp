#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// y = (x + offset − mean)·rstd·γ + β per channel, optionally followed by SiLU
// (offsets per sample and channel, when given). A window of a large x starts
// at element `base`.
#include "common.glsl"
#include "weights.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer S { float stats[]; };
layout(binding = 2) readonly buffer G { WTYPE gamma[]; };
layout(binding = 3) readonly buffer B { WTYPE beta[]; };
layout(binding = 4) writeonly buffer Y { float y[]; };
layout(binding = 5) readonly buffer O { float offsets[]; };   // [N, C], when hasOffsets

layout(push_constant) uniform Params {
    uint count;
    uint rows;
    uint channels;
    uint groups;
    uint silu;
    uint base;
    uint hasOffsets;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint c = (p.base + i) % p.channels;
    uint n = (p.base + i) / (p.rows * p.channels);
    uint s = n * p.groups + c / (p.channels / p.groups);
    float rstd = stats[2u * s + 1u];
    float scale = rstd * float(gamma[c]);
    float xi = p.hasOffsets != 0u ? x[i] + offsets[n * p.channels + c] : x[i];
    float v = xi * scale + (float(beta[c]) - stats[2u * s] * scale);
    if (p.silu != 0u) v = v * sigmoid(v);
    y[i] = v;
}
