#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
// The first matrix-unit kernel, kept while gemm_coopmat.comp is measured against it
// on a GPU (SDGEN_VULKAN_GEMM=legacy):
// a 64×64 output tile per workgroup, staged through shared memory in f16,
// multiplied as 16×16×16 f16 fragments with f32 accumulation. Same operands
// (strided or implicit-im2col A, f32/f16 B) as the portable kernel.
//
// The workgroup is 4 subgroups of the device's reported size; each subgroup
// owns a 32×32 quadrant (2×2 fragments). Should the driver run the shader
// with another subgroup count, quadrants are taken in uniform passes, so
// the result stays right (only slower).
#include "weights.glsl"

layout(constant_id = 0) const uint SUBGROUP = 32;
layout(local_size_x_id = 1) in;   // 4·SUBGROUP

const uint BM = 64u, BN = 64u, BK = 32u;
#include "gemm_operands.glsl"

shared float16_t tileA[BM * BK];   // [m][k]
shared float16_t tileB[BK * BN];   // [k][n]
shared float tileC[BM * BN];

void main() {
    uint threads = gl_WorkGroupSize.x;
    uint t = gl_LocalInvocationID.x;
    uint batch = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    bool aK = aAlongK(), bK = bAlongK();
    uint passes = (4u + gl_NumSubgroups - 1u) / gl_NumSubgroups;

    for (uint pass = 0u; pass < passes; ++pass) {
        uint quadrant = gl_SubgroupID + pass * gl_NumSubgroups;
        bool owns = quadrant < 4u;
        uint qm = (quadrant / 2u) * 32u, qn = (quadrant % 2u) * 32u;
        coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[2][2];
        for (uint i = 0u; i < 2u; ++i)
            for (uint j = 0u; j < 2u; ++j)
                acc[i][j] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);

        for (uint k0 = kBegin(); k0 < kEnd(); k0 += BK) {
            for (uint l = t; l < BM * BK; l += threads) {
                uint mm = aK ? l / BK : l % BM;
                uint kk = aK ? l % BK : l / BM;
                tileA[mm * BK + kk] = float16_t(loadA(batch, m0 + mm, k0 + kk));
            }
            for (uint l = t; l < BN * BK; l += threads) {
                uint nn = bK ? l / BK : l % BN;
                uint kk = bK ? l % BK : l / BN;
                tileB[kk * BN + nn] = float16_t(loadB(batch, k0 + kk, n0 + nn));
            }
            barrier();
            if (owns) {
                for (uint kk = 0u; kk < BK; kk += 16u) {
                    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fa[2];
                    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fb[2];
                    for (uint i = 0u; i < 2u; ++i)
                        coopMatLoad(fa[i], tileA, (qm + i * 16u) * BK + kk, BK, gl_CooperativeMatrixLayoutRowMajor);
                    for (uint j = 0u; j < 2u; ++j)
                        coopMatLoad(fb[j], tileB, kk * BN + qn + j * 16u, BN, gl_CooperativeMatrixLayoutRowMajor);
                    for (uint i = 0u; i < 2u; ++i)
                        for (uint j = 0u; j < 2u; ++j) acc[i][j] = coopMatMulAdd(fa[i], fb[j], acc[i][j]);
                }
            }
            barrier();
        }
        if (owns) {
            for (uint i = 0u; i < 2u; ++i)
                for (uint j = 0u; j < 2u; ++j)
                    coopMatStore(acc[i][j], tileC, (qm + i * 16u) * BN + qn + j * 16u, BN,
                                 gl_CooperativeMatrixLayoutRowMajor);
        }
    }
    barrier();
    for (uint l = t; l < BM * BN; l += threads) storeC(batch, m0 + l / BN, n0 + l % BN, tileC[l]);
}
