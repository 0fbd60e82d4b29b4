// The core's arithmetic ceiling, measured rather than looked up: chains of
// independent multiply-adds with nothing else in the loop, so their rate is
// the issue rate of the units (clock, ports per instruction, vector width).
// What the kernels reach is reported as a fraction of this, and whether bf16
// pays is decided by it: Zen 4 runs VDPBF16PS at twice FMA's flop rate,
// Intel's cores without AMX at the same rate (one port instead of two).
//
// Enough accumulators to cover latency × ports (4-cycle FMA on two ports
// needs 8); 16 leaves margin. Operands come from the caller so nothing folds.
#include "cpu_kernels.h"

#include <immintrin.h>

enum { CHAINS = 16 };

__attribute__((target("avx512f")))
float sdgen_peak_f32_avx512(long iterations, float x) {
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(x), b = _mm512_set1_ps(1 - x);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; n++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < CHAINS; i++) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx2,fma")))
float sdgen_peak_f32_avx2(long iterations, float x) {
    __m256 acc[CHAINS / 2 + 4];  // 12 of the 16 ymm registers
    const __m256 a = _mm256_set1_ps(x), b = _mm256_set1_ps(1 - x);
    for (int i = 0; i < CHAINS / 2 + 4; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long n = 0; n < iterations; n++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < CHAINS / 2 + 4; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 sum = acc[0];
    for (int i = 1; i < CHAINS / 2 + 4; i++) sum = _mm256_add_ps(sum, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

__attribute__((target("avx512f,avx512bf16")))
float sdgen_peak_bf16(long iterations, float x) {
    __m512 acc[CHAINS];
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(x), _mm512_set1_ps(1 - x));
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; n++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, a);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < CHAINS; i++) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}
