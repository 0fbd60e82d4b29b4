// eˣ for x ≤ 0 in sixteen lanes, shared by the fused attention's softmax and
// the activations. Include it inside an AVX-512 target region (as
// gemm_blocking.h): it is compiled for the includer's instructions.
#ifndef SDGEN_EXP_AVX512_H
#define SDGEN_EXP_AVX512_H

#include <immintrin.h>

/// eˣ for x ≤ 0 (scores minus their maximum, −z²), to about 1 ulp: 2ⁿ·e^r
/// with r = x − n·ln 2 in [−ln2/2, ln2/2] (ln 2 split in two for an exact
/// reduction) and a degree-7 Taylor polynomial; −∞ and underflow give 0.
static inline __m512 exp_nonpositive(__m512 x) {
    const __m512 lowest = _mm512_set1_ps(-104.0f);
    x = _mm512_max_ps(x, lowest);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

#endif
