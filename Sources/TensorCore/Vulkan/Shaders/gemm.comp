#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// The portable matrix product: a BM×BN output tile per workgroup, K walked
// in BK slices through shared memory, each invocation accumulating a TM×TN
// register block. Tile sizes are specialization constants.
#include "weights.glsl"

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 32;   // tileA/B are sized by the default: no larger
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
layout(local_size_x_id = 5) in;   // (BM/TM)·(BN/TN)
const uint THREADS = (BM / TM) * (BN / TN);
#define SLOT_CAPACITY 2   // the host's tiles take 1: 64×64×16 and 32×32×32 by 256 threads

#include "gemm_operands.glsl"
#include "gemm_tiles.glsl"

shared float tileA[BK * BM];   // [k][m]
shared float tileB[BK * BN];   // [k][n]

void main() {
    uint t = gl_LocalInvocationID.x;
    uint batch = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint tx = t % (BN / TN), ty = t / (BN / TN);

    float acc[TM][TN];   // TM, TN at most their defaults
    for (uint i = 0u; i < TM; ++i)
        for (uint j = 0u; j < TN; ++j) acc[i][j] = 0.0;

    prepareRows(batch, m0);
    bool alongN = bAlongN();
    for (uint k0 = kBegin(); k0 < kEnd(); k0 += BK) {
        fetchA(batch, m0, k0);
        fetchB(batch, n0, k0);
        for (uint i = 0u; i < A_SLOTS; ++i) {
            uvec2 at = placeA(i);
            for (uint e = 0u; e < 4u; ++e) tileA[(at.y + e) * BM + at.x] = slotA[i][e];
        }
        for (uint i = 0u; i < B_SLOTS; ++i) {
            uvec2 at = placeB(i, alongN);
            for (uint e = 0u; e < 4u; ++e) {
                if (alongN) tileB[at.y * BN + at.x + e] = slotB[i][e];
                else tileB[(at.y + e) * BN + at.x] = slotB[i][e];
            }
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
