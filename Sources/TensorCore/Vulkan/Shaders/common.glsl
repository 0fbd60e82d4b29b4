// Shared helpers for sdgen's compute shaders. Kernels take shapes and
// strides as push constants and see each tensor from element 0 of its
// binding: the whole buffer, or for a tensor past the device's storage-buffer
// range a window of it bound at an offset (VulkanBackend+Windows.swift).

// One-dimensional kernels run 256 invocations per workgroup; the host
// spreads large grids over x and y (at most 65535 groups per dimension).
#define WG_1D 256u

// The flat element index of this invocation in a 2-D grid of 1-D groups.
uint flatIndex() {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG_1D + gl_LocalInvocationID.x;
}

// The flat workgroup index in a 2-D grid (row kernels: one group per row).
uint flatGroup() {
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

// erf(x) to about 1.2e-7 relative: the complementary error function by a
// Chebyshev fit (Numerical Recipes' erfcc), in f32.
float erfApprox(float x) {
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
}

float geluErf(float x) { return 0.5 * x * (1.0 + erfApprox(x * 0.70710678118654752)); }

// tanh without overflow for large |x|.
float safeTanh(float x) {
    float a = abs(x);
    if (a < 0.55) {
        // Odd Taylor/minimax series: exact to f32 rounding for |x| < 0.55.
        float x2 = x * x;
        return x * (1.0 + x2 * (-0.33333333 + x2 * (0.13333333 + x2 * (-0.05396825 + x2 * (0.02186949 +
               x2 * (-0.00886324 + x2 * 0.00359213))))));
    }
    float e = exp(-2.0 * a);
    float t = (1.0 - e) / (1.0 + e);
    return x < 0.0 ? -t : t;
}

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

// The activations by code, as `Activation` numbers them on the host
// (VulkanBackend.activationCode): 0 gelu, 1 gelu-tanh, 2 quick-gelu,
// 3 silu, 4 tanh, 6 relu; any other code leaves v as it is.
float activate(uint code, float v) {
    switch (code) {
    case 0u: return geluErf(v);
    case 1u: return 0.5 * v * (1.0 + safeTanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    case 2u: return v * sigmoid(1.702 * v);
    case 3u: return v * sigmoid(v);
    case 4u: return safeTanh(v);
    case 6u: return max(v, 0.0);
    default: return v;
    }
}

// Where run `index` of `count` values split into `runs` near-equal runs starts.
// GroupNorm's 1/std from a group's sum of squared deviations over n values:
// group_norm_merge.comp's, and group_norm_stats.comp's when one run is the group.
float groupRstd(float m2, float n, float eps) { return inversesqrt(m2 / max(n, 1.0) + eps); }

uint runStart(uint count, uint runs, uint index) {
    return index * (count / runs) + min(index, count % runs);
}
