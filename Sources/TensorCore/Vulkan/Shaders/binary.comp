#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// a ∘ b with b broadcast to a's shape. The host collapses the shape to at
// most 6 axes and passes b's stride per axis (0 where b is broadcast). A
// window of a large a starts at element `base` (b is then indexed from it).
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint count;
    uint op;        // 0 add, 1 sub, 2 mul
    uint rank;      // 0: b has a's shape (no index arithmetic)
    uint shape[6];
    uint bStride[6];
    uint base;
} p;

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint j = i;
    if (p.rank > 0u) {
        uint rest = p.base + i;
        j = 0u;
        for (int axis = int(p.rank) - 1; axis >= 0; --axis) {
            uint size = p.shape[axis];
            j += (rest % size) * p.bStride[axis];
            rest /= size;
        }
    }
    float va = a[i], vb = b[j];
    y[i] = p.op == 0u ? va + vb : (p.op == 1u ? va - vb : va * vb);
}
