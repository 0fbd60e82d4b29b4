#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// LayerNorm over the last axis, one workgroup per row. Two passes: the mean,
// then deviations from it (with the residue Σ(x − mean) folded back in), so
// rows with a large mean keep their precision.
#include "common.glsl"
#include "weights.glsl"

// As many invocations as the row has elements, rounded up to a power of two
// from 32 to 256 (VulkanBackend.rowThreads): narrow rows (a tiny model's, a
// short prompt's scores) leave no idle invocations waiting at the barriers.
layout(constant_id = 0) const uint THREADS = 256;
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer G { WTYPE gamma[]; };
layout(binding = 2) readonly buffer B { WTYPE beta[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
    uint rows;
    uint width;
    float eps;
} p;

void main() {
    uint row = flatGroup();
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x;
    uint base = row * p.width;
    float n = float(p.width);
    float sum = 0.0;
    for (uint j = t; j < p.width; j += THREADS) sum += x[base + j];
    float mean = workgroupSum(sum) / n;
    float d1 = 0.0, d2 = 0.0;
    for (uint j = t; j < p.width; j += THREADS) {
        float d = x[base + j] - mean;
        d1 += d;
        d2 += d * d;
    }
    d1 = workgroupSum(d1) / n;
    d2 = workgroupSum(d2) / n;
    float variance = max(d2 - d1 * d1, 0.0);
    float rstd = inversesqrt(variance + p.eps);
    float center = mean + d1;
    for (uint j = t; j < p.width; j += THREADS) {
        y[base + j] = (x[base + j] - center) * rstd * float(gamma[j]) + float(beta[j]);
    }
}
