#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Rows of an embedding table gathered by id.
#include "common.glsl"
#include "weights.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer I { int ids[]; };
layout(binding = 1) readonly buffer T { WTYPE table[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint count;     // ids · width
    uint width;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint row = i / p.width, col = i % p.width;
    y[i] = float(table[uint(ids[row]) * p.width + col]);
}
