#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// GroupNorm statistics, second pass: one invocation per (sample, group)
// merges its runs' (mean, M2) pairs (Chan et al.'s parallel update) into the
// group's mean and 1/std.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer P { float partial[]; };
layout(binding = 1) writeonly buffer S { float stats[]; };   // [N·G] × (mean, rstd)

layout(push_constant) uniform Params {
    uint count;         // N·G
    uint elements;      // values per group
    uint chunks;
    float eps;
} p;

void main() {
    uint ng = flatIndex();
    if (ng >= p.count) return;
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint c = 0u; c < p.chunks; ++c) {
        uint first = runStart(p.elements, p.chunks, c), last = runStart(p.elements, p.chunks, c + 1u);
        float size = float(last - first);
        if (size == 0.0) continue;
        float chunkMean = partial[2u * (ng * p.chunks + c)];
        float chunkM2 = partial[2u * (ng * p.chunks + c) + 1u];
        float total = n + size;
        float delta = chunkMean - mean;
        mean += delta * (size / total);
        m2 += chunkM2 + delta * delta * (n * size / total);
        n = total;
    }
    stats[2u * ng] = mean;
    stats[2u * ng + 1u] = inversesqrt(m2 / max(n, 1.0) + p.eps);
}
