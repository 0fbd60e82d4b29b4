#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
// The matrix product on matrix units (VK_KHR_cooperative_matrix): 16×16×16
// f16 fragments with f32 accumulation, operands as the portable kernel's
// (strided or implicit-im2col A in f32, f32/f16 B).
//
// Two tile shapes (LARGE_TILE: 128×128 by 8 subgroups, each 64×32 of it;
// else 64×64 by 4, each 32×32): the host takes the large one where there
// are enough output tiles to fill the GPU. K goes in steps of 32: the next
// step's tiles are fetched into registers (16-byte loads where aligned)
// while the matrix units work on this one from shared memory, where rows
// are padded by 16 bytes so the fragment loads spread over the banks.
// Results leave through a 16×16 staging block per subgroup, where alpha and
// the bias are applied on the way to global memory.
//
// Should the driver run the shader with another subgroup count than the
// device reported, the subgroups' blocks are taken in uniform passes: the
// result stays right, only slower.
#include "weights.glsl"

#ifdef LARGE_TILE
const uint BM = 128u, BN = 128u, SG_M = 2u, SG_N = 4u;
#else
const uint BM = 64u, BN = 64u, SG_M = 2u, SG_N = 2u;
#endif
const uint BK = 32u;
const uint SUBGROUPS = SG_M * SG_N;
const uint FM = BM / SG_M / 16u, FN = BN / SG_N / 16u;   // fragments per subgroup
const uint LDS = BK + 8u;                                 // shared row stride in halves

layout(constant_id = 0) const uint SUBGROUP = 32;
layout(local_size_x_id = 1) in;   // SUBGROUPS·SUBGROUP
const uint THREADS = SUBGROUPS * SUBGROUP;
#define SLOT_CAPACITY 16   // subgroups of 8 lanes or more

#include "gemm_operands.glsl"
#include "gemm_tiles.glsl"

// In 4-half vectors (LDS/4 per row), so a slot goes in with one 8-byte store;
// fragment loads count offsets and strides in these vectors too.
shared f16vec4 tileA[BM * LDS / 4u];   // [m][k]
shared f16vec4 tileB[BN * LDS / 4u];   // [n][k]: B's fragments load column-major
shared float stage[SUBGROUPS * 256u];

void storeTiles(bool alongN) {
    for (uint i = 0u; i < A_SLOTS; ++i) {
        uvec2 at = placeA(i);
        tileA[(at.x * LDS + at.y) / 4u] = f16vec4(slotA[i]);
    }
    for (uint i = 0u; i < B_SLOTS; ++i) {
        uvec2 at = placeB(i, alongN);
        f16vec4 v = f16vec4(slotB[i]);
        if (!alongN) {
            tileB[(at.x * LDS + at.y) / 4u] = v;
        } else {
            // B stored [k][n]: the slot's 4 halves go to 4 rows of the transposed tile.
            for (uint e = 0u; e < 4u; ++e) tileB[((at.x + e) * LDS + at.y) / 4u][at.y % 4u] = v[e];
        }
    }
}

// A gated product's store (epilogue.glsl's EPILOGUE_GATED): fragment 0 of
// each row holds 16 columns' values, fragment 1 their gates (FN is 2 in both
// tile shapes, and a subgroup's columns start on a pair). The values wait in
// registers while the gates pass through the staging block.
const uint MOST_PER_LANE = 256u / 8u;   // subgroups of 8 lanes or more

void storeGated(uint batch, uint m0, uint n0, uint base,
                coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[FM][FN]) {
    uint lane = gl_SubgroupInvocationID, perLane = 256u / gl_SubgroupSize;
    uint half_ = p.N / 2u, pair = n0 / 32u;
    for (uint i = 0u; i < FM; ++i) {
        float values[MOST_PER_LANE];
        coopMatStore(acc[i][0], stage, base, 16u, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint t = 0u; t < perLane; ++t) values[t] = stage[base + lane + t * gl_SubgroupSize];
        subgroupBarrier();
        coopMatStore(acc[i][1], stage, base, 16u, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint t = 0u; t < perLane; ++t) {
            uint e = lane + t * gl_SubgroupSize;
            uint m = m0 + i * 16u + e / 16u, column = pair * 16u + e % 16u;
            if (m >= p.M || column >= half_) continue;
            float value = biased(values[t], column), gate = biased(stage[base + e], half_ + column);
            c[p.cOffset + batch * p.cBatchStride + m * p.cRowStride + column] = value * geluErf(gate);
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}

void main() {
    uint batch = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    bool alongN = bAlongN();
    uint passes = (SUBGROUPS + gl_NumSubgroups - 1u) / gl_NumSubgroups;
    prepareRows(batch, m0);

    for (uint pass = 0u; pass < passes; ++pass) {
        uint block = gl_SubgroupID + pass * gl_NumSubgroups;
        bool owns = block < SUBGROUPS;
        uint wm = (block / SG_N) * FM * 16u, wn = (block % SG_N) * FN * 16u;
        coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[FM][FN];
        for (uint i = 0u; i < FM; ++i)
            for (uint j = 0u; j < FN; ++j)
                acc[i][j] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);

        uint k0 = kBegin(), end = kEnd();
        fetchA(batch, m0, k0);
        fetchB(batch, n0, k0);
        for (; k0 < end; k0 += BK) {
            barrier();                  // every subgroup is done with the last step's tiles
            storeTiles(alongN);
            barrier();
            if (k0 + BK < end) {        // the next step's loads fly while the matrix units work
                fetchA(batch, m0, k0 + BK);
                fetchB(batch, n0, k0 + BK);
            }
            if (owns) {
                for (uint kk = 0u; kk < BK; kk += 16u) {
                    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fa[FM];
                    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fb[FN];
                    for (uint i = 0u; i < FM; ++i)
                        coopMatLoad(fa[i], tileA, ((wm + i * 16u) * LDS + kk) / 4u, LDS / 4u,
                                    gl_CooperativeMatrixLayoutRowMajor);
                    for (uint j = 0u; j < FN; ++j)
                        coopMatLoad(fb[j], tileB, ((wn + j * 16u) * LDS + kk) / 4u, LDS / 4u,
                                    gl_CooperativeMatrixLayoutColumnMajor);
                    for (uint i = 0u; i < FM; ++i)
                        for (uint j = 0u; j < FN; ++j) acc[i][j] = coopMatMulAdd(fa[i], fb[j], acc[i][j]);
                }
            }
        }
        if (owns && gated(p.epilogue)) {
            storeGated(batch, m0 + wm, n0 + wn, block * 256u, acc);
        } else if (owns) {
            uint lane = gl_SubgroupInvocationID, base = block * 256u;
            for (uint i = 0u; i < FM; ++i) {
                for (uint j = 0u; j < FN; ++j) {
                    coopMatStore(acc[i][j], stage, base, 16u, gl_CooperativeMatrixLayoutRowMajor);
                    subgroupMemoryBarrierShared();
                    subgroupBarrier();
                    for (uint e = lane; e < 256u; e += gl_SubgroupSize)
                        storeC(batch, m0 + wm + i * 16u + e / 16u, n0 + wn + j * 16u + e % 16u, stage[base + e]);
                    subgroupMemoryBarrierShared();
                    subgroupBarrier();
                }
            }
        }
    }
}
