#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Fused multi-head attention, flash style: one workgroup per (query block,
// head, batch) walks the keys in blocks, keeping a running maximum, a
// running sum and the output rows in registers (online softmax). The score
// matrix never leaves shared memory, so 4096-token self-attention needs no
// Lq×Lk buffer. q, k, v are the [B, L, H·D] projections read in place.
//
// Specialization: D the head dimension, BR query rows and BC keys per block.
// Each query row is owned by 128/BR invocations, each holding D/(128/BR)
// output elements.

layout(constant_id = 0) const uint D = 64;
layout(constant_id = 1) const uint BR = 16;
layout(constant_id = 2) const uint BC = 32;
layout(local_size_x = 128) in;
const uint THREADS = 128u;
const uint TPR = THREADS / BR;               // invocations per query row
const uint PER = (D + TPR - 1u) / TPR;       // output elements per invocation

layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { float k[]; };
layout(binding = 2) readonly buffer V { float v[]; };
layout(binding = 3) readonly buffer M { float mask[]; };   // [B, Lk], added to scores
layout(binding = 4) writeonly buffer O { float o[]; };

layout(push_constant) uniform Params {
    uint queries;
    uint keys;
    uint width;     // H·D
    float scale;
    uint causal;
    uint hasMask;
} p;

shared float tileQ[BR * D];
shared float tileK[BC * D];
shared float tileV[BC * D];
shared float scores[BR * BC];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint q0 = gl_WorkGroupID.x * BR;
    uint head = gl_WorkGroupID.y, batch = gl_WorkGroupID.z;
    uint column = head * D;
    const float negInf = -1.0 / 0.0;

    for (uint l = t; l < BR * D; l += THREADS) {
        uint r = l / D, d = l % D;
        uint qi = q0 + r;
        tileQ[l] = qi < p.queries ? q[(batch * p.queries + qi) * p.width + column + d] : 0.0;
    }

    uint row = t / TPR, lane = t % TPR;
    uint myQuery = q0 + row;
    float runningMax = negInf, runningSum = 0.0;
    float acc[PER];
    for (uint i = 0u; i < PER; ++i) acc[i] = 0.0;

    // Causal attention needs no key past the block's last query.
    uint keyEnd = p.keys;
    if (p.causal != 0u) keyEnd = min(keyEnd, q0 + BR);

    for (uint k0 = 0u; k0 < keyEnd; k0 += BC) {
        for (uint l = t; l < BC * D; l += THREADS) {
            uint j = l / D, d = l % D;
            uint key = k0 + j;
            bool inside = key < p.keys;
            uint index = (batch * p.keys + key) * p.width + column + d;
            tileK[l] = inside ? k[index] : 0.0;
            tileV[l] = inside ? v[index] : 0.0;
        }
        barrier();
        for (uint l = t; l < BR * BC; l += THREADS) {
            uint r = l / BC, j = l % BC;
            uint key = k0 + j;
            float s = negInf;
            if (key < p.keys && (p.causal == 0u || key <= q0 + r)) {
                float dot = 0.0;
                for (uint d = 0u; d < D; ++d) dot = fma(tileQ[r * D + d], tileK[j * D + d], dot);
                s = dot * p.scale;
                if (p.hasMask != 0u) s += mask[batch * p.keys + key];
            }
            scores[l] = s;
        }
        barrier();
        float blockMax = negInf;
        for (uint j = 0u; j < BC; ++j) blockMax = max(blockMax, scores[row * BC + j]);
        float newMax = max(runningMax, blockMax);
        if (newMax != negInf) {
            float correction = exp(runningMax - newMax);   // 0 while runningMax is −∞
            runningSum *= correction;
            for (uint i = 0u; i < PER; ++i) acc[i] *= correction;
            for (uint j = 0u; j < BC; ++j) {
                float s = scores[row * BC + j];
                if (s == negInf) continue;
                float e = exp(s - newMax);
                runningSum += e;
                for (uint i = 0u; i < PER; ++i) {
                    uint d = lane + i * TPR;
                    if (d < D) acc[i] = fma(e, tileV[j * D + d], acc[i]);
                }
            }
            runningMax = newMax;
        }
        barrier();
    }

    if (myQuery >= p.queries) return;
    float inverse = runningSum > 0.0 ? 1.0 / runningSum : 0.0;
    for (uint i = 0u; i < PER; ++i) {
        uint d = lane + i * TPR;
        if (d < D) o[(batch * p.queries + myQuery) * p.width + column + d] = acc[i] * inverse;
    }
}
