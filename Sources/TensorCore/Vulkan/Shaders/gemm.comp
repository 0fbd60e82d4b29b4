#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// The portable matrix product: a BM×BN output tile per workgroup, K walked
// in BK slices through shared memory, each invocation accumulating a TM×TN
// register block. Tile sizes are specialization constants.
#include "weights.glsl"

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
layout(local_size_x_id = 5) in;   // (BM/TM)·(BN/TN)

#include "gemm_operands.glsl"

shared float tileA[BK * BM];   // [k][m]
shared float tileB[BK * BN];   // [k][n]

void main() {
    const uint threads = (BM / TM) * (BN / TN);
    uint t = gl_LocalInvocationID.x;
    uint batch = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint tx = t % (BN / TN), ty = t / (BN / TN);

    float acc[TM][TN];
    for (uint i = 0u; i < TM; ++i)
        for (uint j = 0u; j < TN; ++j) acc[i][j] = 0.0;

    bool aK = aAlongK(), bK = bAlongK();
    for (uint k0 = kBegin(); k0 < kEnd(); k0 += BK) {
        for (uint l = t; l < BM * BK; l += threads) {
            uint mm = aK ? l / BK : l % BM;
            uint kk = aK ? l % BK : l / BM;
            tileA[kk * BM + mm] = loadA(batch, m0 + mm, k0 + kk);
        }
        for (uint l = t; l < BN * BK; l += threads) {
            uint nn = bK ? l / BK : l % BN;
            uint kk = bK ? l % BK : l / BN;
            tileB[kk * BN + nn] = loadB(batch, k0 + kk, n0 + nn);
        }
        barrier();
        for (uint kk = 0u; kk < BK; ++kk) {
            float av[TM], bv[TN];
            for (uint i = 0u; i < TM; ++i) av[i] = tileA[kk * BM + ty + i * (BM / TM)];
            for (uint j = 0u; j < TN; ++j) bv[j] = tileB[kk * BN + tx + j * (BN / TN)];
            for (uint i = 0u; i < TM; ++i)
                for (uint j = 0u; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
        barrier();
    }
    for (uint i = 0u; i < TM; ++i)
        for (uint j = 0u; j < TN; ++j)
            storeC(batch, m0 + ty + i * (BM / TM), n0 + tx + j * (BN / TN), acc[i][j]);
}
