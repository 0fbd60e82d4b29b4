#version 450
#extension GL_GOOGLE_include_directive : require
#include "extensions.glsl"
// Element type conversions between f32, f16 and bf16, bit-exact with the CPU
// (round to nearest even, NaN kept NaN). 16-bit data is read and written as
// 32-bit words holding two elements, so no 16-bit storage feature is needed;
// each invocation converts one pair.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform Params {
    uint count;     // elements
    uint from;      // 0 f32, 1 f16, 2 bf16
    uint to;
} p;

float halfToFloat(uint h) {
    uint sign = (h & 0x8000u) << 16;
    uint exponent = (h >> 10) & 0x1Fu;
    uint mantissa = h & 0x3FFu;
    if (exponent == 0u) {
        if (mantissa == 0u) return uintBitsToFloat(sign);
        // Subnormal: value = mantissa · 2^-24, exact in f32.
        float v = float(mantissa) * 5.9604644775390625e-8;
        return sign != 0u ? -v : v;
    }
    if (exponent == 31u) return uintBitsToFloat(sign | 0x7F800000u | (mantissa << 13));
    return uintBitsToFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint floatToHalf(float f) {
    uint bits = floatBitsToUint(f);
    uint sign = (bits >> 16) & 0x8000u;
    uint absBits = bits & 0x7FFFFFFFu;
    if (absBits >= 0x7F800000u) {
        // Inf or NaN (keep NaN quiet and non-zero).
        return sign | 0x7C00u | (absBits > 0x7F800000u ? 0x200u | ((absBits >> 13) & 0x3FFu) : 0u);
    }
    if (absBits >= 0x477FF000u) return sign | 0x7C00u;   // rounds to ≥ 65520: overflow to inf
    if (absBits < 0x38800000u) {
        // Result is subnormal (or zero): round |f| · 2^24 to nearest even integer.
        if (absBits < 0x33000000u) return sign;          // below half the smallest subnormal
        uint exponent = absBits >> 23;
        uint mantissa = (absBits & 0x7FFFFFu) | 0x800000u;
        uint shift = 126u - exponent;                    // 14..24
        uint value = mantissa >> shift;
        uint remainder = mantissa & ((1u << shift) - 1u);
        uint halfway = 1u << (shift - 1u);
        if (remainder > halfway || (remainder == halfway && (value & 1u) != 0u)) value += 1u;
        return sign | value;
    }
    // Normal: rebias the exponent and round the mantissa to 10 bits.
    uint value = absBits - 0x38000000u;                 // exponent bias 127 → 15
    uint lower = value & 0x1FFFu;
    value >>= 13;
    if (lower > 0x1000u || (lower == 0x1000u && (value & 1u) != 0u)) value += 1u;
    return sign | value;
}

float bf16ToFloat(uint h) { return uintBitsToFloat(h << 16); }

uint floatToBf16(float f) {
    uint bits = floatBitsToUint(f);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x40u;
    return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
}

float load(uint index) {
    if (p.from == 0u) return uintBitsToFloat(x[index]);
    uint word = x[index >> 1];
    uint h = (index & 1u) != 0u ? word >> 16 : word & 0xFFFFu;
    return p.from == 1u ? halfToFloat(h) : bf16ToFloat(h);
}

uint to16(float f) { return p.to == 1u ? floatToHalf(f) : floatToBf16(f); }

void main() {
    uint pair = flatIndex();
    uint first = pair * 2u;
    if (first >= p.count) return;
    bool second = first + 1u < p.count;
    if (p.to == 0u) {
        y[first] = floatBitsToUint(load(first));
        if (second) y[first + 1u] = floatBitsToUint(load(first + 1u));
    } else {
        uint lo = to16(load(first));
        uint hi = second ? to16(load(first + 1u)) : 0u;
        y[pair] = lo | (hi << 16);
    }
}
