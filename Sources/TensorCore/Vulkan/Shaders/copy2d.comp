#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Copies `rows` runs of `columns` floats between strided positions: one
// input of a concatenation into its place in the output.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint count;     // rows · columns
    uint columns;
    uint dstStride;
    uint dstOffset;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint row = i / p.columns, col = i % p.columns;
    y[p.dstOffset + row * p.dstStride + col] = x[i];
}
