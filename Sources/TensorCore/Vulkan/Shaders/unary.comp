#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Point-wise maps: the activations and x·scale + shift.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint count;
    uint op;        // 0 gelu, 1 gelu-tanh, 2 quick-gelu, 3 silu, 4 tanh, 5 affine, 6 relu
    float scale;
    float shift;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    float v = x[i];
    float r;
    switch (p.op) {
    case 0u: r = geluErf(v); break;
    case 1u: r = 0.5 * v * (1.0 + safeTanh(0.7978845608028654 * (v + 0.044715 * v * v * v))); break;
    case 2u: r = v * sigmoid(1.702 * v); break;
    case 3u: r = v * sigmoid(v); break;
    case 4u: r = safeTanh(v); break;
    case 6u: r = max(v, 0.0); break;
    default: r = v * p.scale + p.shift; break;
    }
    y[i] = r;
}
