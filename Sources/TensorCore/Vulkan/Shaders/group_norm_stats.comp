#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// GroupNorm statistics, first pass: the values of each (sample, group) are
// split into `chunks` runs, one workgroup each, so large images keep the
// whole GPU busy. Each workgroup writes its run's mean and sum of squared
// deviations (two passes over the run: the mean, then deviations from it
// with the residue folded back) and its length; group_norm_merge.comp
// combines the runs — unless a group is one run (`final`: small images), when
// this pass writes the group's mean and 1/std itself, as the merge would have
// (the merge of one run is exact), and no merge is dispatched. A window of a large image is dispatched as one sample
// of fewer rows, its runs written from run `partialBase` on. Per-sample channel
// offsets (a ResNet block's timestep embedding), when given, are added to each
// value as it is read, rounded as diffusers' separate add rounds them.
#include "common.glsl"

const uint THREADS = 256u;
layout(local_size_x = THREADS) in;
#include "reduce.glsl"
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer P { float partial[]; };   // [N·G·chunks] × (mean, M2, count), or final [N·G] × (mean, rstd)
layout(binding = 2) readonly buffer O { float offsets[]; };    // [N, C], when hasOffsets

layout(push_constant) uniform Params {
    uint batch;
    uint rows;          // spatial positions per sample
    uint channels;
    uint groups;
    uint chunks;
    uint partialBase;
    uint xSkip;         // elements before the window's first row in its binding
    uint hasOffsets;
    uint offsetBase;    // a window's sample's first offset
    uint final;         // chunks = 1 over the whole image: write (mean, rstd)
    float eps;
} p;

// Element e of (sample n, group g)'s run: x plus its channel's offset.
float value(uint base, uint e, uint perGroup, uint offsets0) {
    float v = x[base + (e / perGroup) * p.channels + e % perGroup];
    return p.hasOffsets != 0u ? v + offsets[offsets0 + e % perGroup] : v;
}

void main() {
    uint index = flatGroup();
    if (index >= p.batch * p.groups * p.chunks) return;
    uint chunk = index % p.chunks, ng = index / p.chunks;
    uint n = ng / p.groups, g = ng % p.groups;
    uint perGroup = p.channels / p.groups;
    uint count = p.rows * perGroup;
    uint first = runStart(count, p.chunks, chunk), last = runStart(count, p.chunks, chunk + 1u);
    uint base = p.xSkip + n * p.rows * p.channels + g * perGroup;
    uint offsets0 = p.offsetBase + n * p.channels + g * perGroup;
    uint t = gl_LocalInvocationID.x;
    float size = float(last - first);
    float sum = 0.0;
    for (uint e = first + t; e < last; e += THREADS) sum += value(base, e, perGroup, offsets0);
    float mean = workgroupSum(sum) / max(size, 1.0);
    float d1 = 0.0, d2 = 0.0;
    for (uint e = first + t; e < last; e += THREADS) {
        float d = value(base, e, perGroup, offsets0) - mean;
        d1 += d;
        d2 += d * d;
    }
    d1 = workgroupSum(d1);
    d2 = workgroupSum(d2);
    if (t == 0u) {
        float residue = d1 / max(size, 1.0);
        float m2 = max(d2 - d1 * residue, 0.0);
        if (p.final != 0u) {
            partial[2u * index] = mean + residue;
            partial[2u * index + 1u] = groupRstd(m2, size, p.eps);
        } else {
            uint slot = 3u * (p.partialBase + index);
            partial[slot] = mean + residue;
            partial[slot + 1u] = m2;
            partial[slot + 2u] = size;
        }
    }
}
