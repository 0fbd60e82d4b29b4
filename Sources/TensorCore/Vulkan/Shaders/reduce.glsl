// Workgroup-wide sum and max over the workgroup (THREADS invocations, a power
// of two up to 256, declared by the including shader; gl_WorkGroupSize gave
// wrong sums on Mesa 22's lavapipe): subgroup operations within each subgroup, then one partial
// per subgroup through shared memory (read back in a fixed order, so every
// invocation gets the same value). Without subgroup arithmetic
// (USE_SUBGROUPS undefined) a shared-memory tree.

#ifdef USE_SUBGROUPS
shared float reduceScratch[256];

float workgroupSum(float v) {
    v = subgroupAdd(v);
    if (subgroupElect()) reduceScratch[gl_SubgroupID] = v;
    barrier();
    float total = 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) total += reduceScratch[s];
    barrier();
    return total;
}

float workgroupMax(float v) {
    v = subgroupMax(v);
    if (subgroupElect()) reduceScratch[gl_SubgroupID] = v;
    barrier();
    float result = -1.0 / 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) result = max(result, reduceScratch[s]);
    barrier();
    return result;
}
#else
shared float reduceScratch[256];

float workgroupSum(float v) {
    uint t = gl_LocalInvocationID.x;
    reduceScratch[t] = v;
    barrier();
    for (uint width = THREADS / 2u; width > 0u; width >>= 1) {
        if (t < width) reduceScratch[t] += reduceScratch[t + width];
        barrier();
    }
    float total = reduceScratch[0];
    barrier();
    return total;
}

float workgroupMax(float v) {
    uint t = gl_LocalInvocationID.x;
    reduceScratch[t] = v;
    barrier();
    for (uint width = THREADS / 2u; width > 0u; width >>= 1) {
        if (t < width) reduceScratch[t] = max(reduceScratch[t], reduceScratch[t + width]);
        barrier();
    }
    float result = reduceScratch[0];
    barrier();
    return result;
}
#endif
