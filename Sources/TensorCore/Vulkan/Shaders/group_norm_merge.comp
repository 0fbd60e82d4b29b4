#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// GroupNorm statistics, second pass: one invocation per (sample, group)
// merges its runs' (mean, M2, count) (Chan et al.'s parallel update) into the
// group's mean and 1/std. Runs are laid out [N][windows][G][chunks]: a large
// image's statistics come from several windows of rows.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer P { float partial[]; };
layout(binding = 1) writeonly buffer S { float stats[]; };   // [N·G] × (mean, rstd)

layout(push_constant) uniform Params {
    uint count;         // N·G
    uint groups;
    uint chunks;
    uint windows;
    float eps;
} p;

void main() {
    uint ng = flatIndex();
    if (ng >= p.count) return;
    uint image = ng / p.groups, group = ng % p.groups;
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint run = 0u; run < p.windows * p.chunks; ++run) {
        uint w = run / p.chunks, c = run % p.chunks;
        uint slot = 3u * (((image * p.windows + w) * p.groups + group) * p.chunks + c);
        float size = partial[slot + 2u];
        if (size == 0.0) continue;
        float chunkMean = partial[slot];
        float chunkM2 = partial[slot + 1u];
        float total = n + size;
        float delta = chunkMean - mean;
        mean += delta * (size / total);
        m2 += chunkM2 + delta * delta * (n * size / total);
        n = total;
    }
    stats[2u * ng] = mean;
    stats[2u * ng + 1u] = groupRstd(m2, n, p.eps);
}
