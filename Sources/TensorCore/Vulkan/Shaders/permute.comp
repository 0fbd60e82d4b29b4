#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// y = x with axes permuted: the host passes the output shape (≤ 6 axes) and,
// per output axis, the input stride. Also serves strided 2-D copies (concat).
#include "common.glsl"

layout(local_size_x = 256) in;
#ifdef ELEMENT16
#define ETYPE uint16_t      // f16/bf16 bits, moved unchanged
#else
#define ETYPE float
#endif
layout(binding = 0) readonly buffer X { ETYPE x[]; };
layout(binding = 1) writeonly buffer Y { ETYPE y[]; };

layout(push_constant) uniform Params {
    uint count;
    uint rank;
    uint shape[6];
    uint stride[6];
    uint inOffset;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint rest = i, j = p.inOffset;
    for (int axis = int(p.rank) - 1; axis >= 0; --axis) {
        uint size = p.shape[axis];
        j += (rest % size) * p.stride[axis];
        rest /= size;
    }
    y[i] = x[j];
}
