#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// GroupNorm statistics: one workgroup per (sample, group) reduces the
// group's rows × channels-per-group values to mean and 1/std.
#include "common.glsl"
#include "reduce.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer S { float stats[]; };   // [N·G] × (mean, rstd)

layout(push_constant) uniform Params {
    uint batch;
    uint rows;          // spatial positions per sample
    uint channels;
    uint groups;
    float eps;
} p;

void main() {
    uint index = flatGroup();
    if (index >= p.batch * p.groups) return;
    uint n = index / p.groups, g = index % p.groups;
    uint perGroup = p.channels / p.groups;
    uint count = p.rows * perGroup;
    uint base = n * p.rows * p.channels + g * perGroup;
    uint t = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint e = t; e < count; e += 256u) sum += x[base + (e / perGroup) * p.channels + e % perGroup];
    float mean = workgroupSum(sum) / float(count);
    float d1 = 0.0, d2 = 0.0;
    for (uint e = t; e < count; e += 256u) {
        float d = x[base + (e / perGroup) * p.channels + e % perGroup] - mean;
        d1 += d;
        d2 += d * d;
    }
    d1 = workgroupSum(d1) / float(count);
    d2 = workgroupSum(d2) / float(count);
    if (t == 0u) {
        stats[2u * index] = mean + d1;
        stats[2u * index + 1u] = inversesqrt(max(d2 - d1 * d1, 0.0) + p.eps);
    }
}
