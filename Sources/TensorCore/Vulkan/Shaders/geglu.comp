#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// x[..., 2N] → x[..., :N] · GELU(x[..., N:]).
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint count;     // rows · half
    uint half_;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint row = i / p.half_, col = i % p.half_;
    uint base = row * 2u * p.half_;
    y[i] = x[base + col] * geluErf(x[base + p.half_ + col]);
}
