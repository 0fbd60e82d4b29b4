#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
// Fused multi-head attention on matrix units (VK_KHR_cooperative_matrix):
// 16×16×16 f16 fragments with f32 accumulation for Q·Kᵀ and P·V, softmax in
// f32. One workgroup of 4 subgroups takes 64 queries of one head (2 and 32
// for heads above 128); each subgroup owns 16 of them, its Q fragments held
// in registers, its output in accumulators. Keys come in blocks of 32
// through shared memory.
//
// Two passes over the keys instead of an online softmax: the first finds
// each row's largest score, the second adds exp(score − max)·V and the row
// sums, and the output is divided by the sum on its way out. Accumulators
// can only be scaled as a whole, so the online method's per-row rescaling
// would need them in shared memory; Q·Kᵀ twice costs less.
//
// DP (a macro: the variants are 16, 32, 48, 64, 80, 96, 128, 160) is the head size
// rounded up to 16; the head size D itself comes as a push constant and
// the columns past it are zero. q, k, v are the [B, L, H·D] projections
// read in place, 16 bytes at a time (the host requires D and H·D to be
// multiples of 4).

// Sized so that every variant fits 32 KiB of shared memory (VulkanBackend.
// cooperativeAttentionGroup mirrors this): heads above 128 take 2 subgroups.
const uint BC = 32u;
#if DP > 128
const uint SUBGROUPS = 2u;
#else
const uint SUBGROUPS = 4u;
#endif
const uint BR = 16u * SUBGROUPS;   // queries per workgroup
const uint DPS = DP + 8u;          // shared row stride of K and V in halves (16 bytes of padding)
const uint PS = BC + 8u;           // ... of P
const uint FD = DP / 16u;          // fragments across the head
const uint FC = BC / 16u;          // fragments across a key block

layout(constant_id = 0) const uint SUBGROUP = 32;
layout(local_size_x_id = 1) in;    // SUBGROUPS·SUBGROUP
const uint THREADS = SUBGROUPS * SUBGROUP;

layout(binding = 0) readonly buffer Q { vec4 q[]; };
layout(binding = 1) readonly buffer K { vec4 k[]; };
layout(binding = 2) readonly buffer V { vec4 v[]; };
layout(binding = 3) readonly buffer M { float mask[]; };   // [B, Lk], added to scores
layout(binding = 4) writeonly buffer O { float o[]; };

layout(push_constant) uniform Params {
    uint queries;
    uint keys;
    uint width;     // H·D
    float scale;
    uint causal;
    uint hasMask;
    uint headDim;   // D
} p;

// K then V of a block ([key][d]), in 4-half vectors (DPS/4 per row: a fetched
// slot goes in with one store; fragment loads count in vectors too). Q's rows
// pass through it once at the start.
shared f16vec4 kv[2u * BC * DPS / 4u];
shared float scores[SUBGROUPS * 16u * BC];   // per subgroup: its 16 rows' scores, then its output
shared float16_t probabilities[SUBGROUPS * 16u * PS];
shared float rowMax[BR], rowSum[BR];
shared float partial[BR * 2u];

const float negInf = -1.0 / 0.0;

// Rows r (of `rows`) of the [L, H·D] tensor `which` (0: q, 1: k, 2: v) from row `first` on, into
// kv at vector `base` as f16 [r][d] with stride DPS; rows past `limit` and columns past D read as zero.
void stage(uint which, uint batch, uint column, uint first, uint rows, uint limit, uint base) {
    uint quads = DP / 4u;
    for (uint l = gl_LocalInvocationID.x; l < rows * quads; l += THREADS) {
        uint r = l / quads, d = (l % quads) * 4u;
        vec4 x = vec4(0.0);
        if (first + r < limit && d < p.headDim) {
            uint index = ((batch * limit + first + r) * p.width + column + d) >> 2;
            x = which == 0u ? q[index] : which == 1u ? k[index] : v[index];
        }
        kv[base + (r * DPS + d) / 4u] = f16vec4(x);
    }
}

// The block's scores of this subgroup's rows, scaled and masked, into `scores`.
void blockScores(coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fq[FD], uint sg) {
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> s[FC];
    for (uint j = 0u; j < FC; ++j) s[j] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);
    for (uint f = 0u; f < FD; ++f) {
        for (uint j = 0u; j < FC; ++j) {
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fk;
            // Kᵀ: element (d, key) at kv[key·DPS + d], column-major.
            coopMatLoad(fk, kv, (j * 16u * DPS + f * 16u) / 4u, DPS / 4u, gl_CooperativeMatrixLayoutColumnMajor);
            s[j] = coopMatMulAdd(fq[f], fk, s[j]);
        }
    }
    for (uint j = 0u; j < FC; ++j)
        coopMatStore(s[j], scores, sg * 16u * BC + j * 16u, BC, gl_CooperativeMatrixLayoutRowMajor);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
}

// Score (r, j) of the block at k0 as softmax sees it: −∞ where the key is
// past the end, in the causal future, or masked out.
float score(uint sg, uint r, uint j, uint q0, uint k0, uint batch) {
    uint key = k0 + j, query = q0 + sg * 16u + r;
    if (key >= p.keys || (p.causal != 0u && key > query)) return negInf;
    float s = scores[(sg * 16u + r) * BC + j] * p.scale;
    if (p.hasMask != 0u) s += mask[batch * p.keys + key];
    return s;
}

void main() {
    uint q0 = gl_WorkGroupID.x * BR;
    uint head = gl_WorkGroupID.y, batch = gl_WorkGroupID.z;
    uint column = head * p.headDim;
    uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
    // The driver may run other subgroup counts than the device reported; rows
    // 16·sg… exist only for the first 4 (extra subgroups help stage, then idle).
    bool owns = sg < SUBGROUPS;

    for (uint r = gl_LocalInvocationID.x; r < BR; r += THREADS) {
        rowMax[r] = negInf;
        rowSum[r] = 0.0;
    }
    stage(0u, batch, column, q0, BR, p.queries, 0u);
    barrier();
    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fq[FD];
    if (owns)
        for (uint f = 0u; f < FD; ++f)
            coopMatLoad(fq[f], kv, (sg * 16u * DPS + f * 16u) / 4u, DPS / 4u, gl_CooperativeMatrixLayoutRowMajor);

    uint keyEnd = p.keys;
    if (p.causal != 0u) keyEnd = min(keyEnd, q0 + BR);   // no key past the block's last query

    // Pass 1: each row's largest score. Work item w of 32 is row w % 16, side w / 16 of the block.
    for (uint k0 = 0u; k0 < keyEnd; k0 += BC) {
        barrier();
        stage(1u, batch, column, k0, BC, p.keys, 0u);
        barrier();
        if (owns) {
            blockScores(fq, sg);
            for (uint w = lane; w < 32u; w += gl_SubgroupSize) {
                uint r = w % 16u, side = w / 16u;
                float m = negInf;
                for (uint j = side * (BC / 2u); j < (side + 1u) * (BC / 2u); ++j) m = max(m, score(sg, r, j, q0, k0, batch));
                partial[(sg * 16u + r) * 2u + side] = m;
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (uint r = lane; r < 16u; r += gl_SubgroupSize) {
                uint row = sg * 16u + r;
                rowMax[row] = max(rowMax[row], max(partial[row * 2u], partial[row * 2u + 1u]));
            }
        }
    }

    // Pass 2: O = Σ exp(score − max)·V, and the row sums.
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[FD];
    for (uint f = 0u; f < FD; ++f) acc[f] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);
    for (uint k0 = 0u; k0 < keyEnd; k0 += BC) {
        barrier();
        stage(1u, batch, column, k0, BC, p.keys, 0u);
        stage(2u, batch, column, k0, BC, p.keys, BC * DPS / 4u);
        barrier();
        if (owns) {
            blockScores(fq, sg);
            for (uint w = lane; w < 32u; w += gl_SubgroupSize) {
                uint r = w % 16u, side = w / 16u, row = sg * 16u + r;
                float m = rowMax[row], sum = 0.0;
                for (uint j = side * (BC / 2u); j < (side + 1u) * (BC / 2u); ++j) {
                    float s = score(sg, r, j, q0, k0, batch);
                    float e = s == negInf ? 0.0 : exp(s - m);
                    sum += e;
                    probabilities[(sg * 16u + r) * PS + j] = float16_t(e);
                }
                partial[row * 2u + side] = sum;
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (uint r = lane; r < 16u; r += gl_SubgroupSize) {
                uint row = sg * 16u + r;
                rowSum[row] += partial[row * 2u] + partial[row * 2u + 1u];
            }
            for (uint c = 0u; c < FC; ++c) {
                coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fp;
                coopMatLoad(fp, probabilities, sg * 16u * PS + c * 16u, PS, gl_CooperativeMatrixLayoutRowMajor);
                for (uint f = 0u; f < FD; ++f) {
                    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fv;
                    coopMatLoad(fv, kv, (BC * DPS + c * 16u * DPS + f * 16u) / 4u, DPS / 4u,
                                gl_CooperativeMatrixLayoutRowMajor);
                    acc[f] = coopMatMulAdd(fp, fv, acc[f]);
                }
            }
        }
    }

    // Out through this subgroup's score rows, divided by the row sums.
    if (!owns) return;
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    for (uint f = 0u; f < FD; ++f) {
        coopMatStore(acc[f], scores, sg * 16u * BC, BC, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint e = lane; e < 256u; e += gl_SubgroupSize) {
            uint r = e / 16u, d = f * 16u + e % 16u, query = q0 + sg * 16u + r;
            if (query < p.queries && d < p.headDim) {
                float sum = rowSum[sg * 16u + r];
                o[(batch * p.queries + query) * p.width + column + d] =
                    sum > 0.0 ? scores[(sg * 16u + r) * BC + e % 16u] / sum : 0.0;
            }
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}
