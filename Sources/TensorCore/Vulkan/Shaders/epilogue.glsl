// What a product does to each element of C as it stores it, after alpha and
// the bias: the activation, then the residual (read at C's own index).
// Shared by the GEMM kernels and split-K's summing pass; the includer
// declares `residual[]` and includes common.glsl first. The host packs the
// word in VulkanBackend.epilogueWord.

const uint EPILOGUE_BIAS = 1u;
const uint EPILOGUE_RESIDUAL = 2u;
const uint EPILOGUE_ACTIVATION = 4u;   // then bits 8… hold activate()'s code
// GEGLU (diffusers' GEGLU module: a projection to 2H columns, values then
// gates, and value·GELU(gate)): the product's N logical columns are taken as
// pairs of 16 values and their 16 gates (gatedColumn maps them onto B and the
// bias), and the matrix-unit kernel, whose subgroups hold such a pair of
// fragments, stores value·GELU(gate) into a C of N/2 columns.
const uint EPILOGUE_GATED = 8u;

bool gated(uint epilogue) { return (epilogue & EPILOGUE_GATED) != 0u; }

// Logical column n of a gated product → its column of B and the bias (of N):
// pair n/32's values are columns (n/32)·16…+15, its gates the same N/2 on.
uint gatedColumn(uint n, uint columns) {
    return (n / 32u) * 16u + n % 16u + ((n / 16u) % 2u) * (columns / 2u);
}

float finishElement(uint epilogue, float v, uint index) {
    if ((epilogue & EPILOGUE_ACTIVATION) != 0u) v = activate(epilogue >> 8u, v);
    if ((epilogue & EPILOGUE_RESIDUAL) != 0u) v += residual[index];
    return v;
}
