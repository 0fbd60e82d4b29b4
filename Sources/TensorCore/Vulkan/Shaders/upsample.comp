#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Nearest-neighbour 2× upsampling of NHWC.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint count;     // output elements
    uint height, width, channels;   // input
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint c = i % p.channels;
    uint pixel = i / p.channels;
    uint ox = pixel % (2u * p.width);
    uint rest = pixel / (2u * p.width);
    uint oy = rest % (2u * p.height);
    uint n = rest / (2u * p.height);
    y[i] = x[((n * p.height + oy / 2u) * p.width + ox / 2u) * p.channels + c];
}
