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
    y[i] = p.op == 5u ? v * p.scale + p.shift : activate(p.op, v);
}
