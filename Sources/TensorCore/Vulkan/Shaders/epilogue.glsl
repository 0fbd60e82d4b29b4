// What a product does to each element of C as it stores it, after alpha and
// the bias: the activation, then the residual (read at C's own index).
// Shared by the GEMM kernels and split-K's summing pass; the includer
// declares `residual[]` and includes common.glsl first. The host packs the
// word in VulkanBackend.epilogueWord.

const uint EPILOGUE_BIAS = 1u;
const uint EPILOGUE_RESIDUAL = 2u;
const uint EPILOGUE_ACTIVATION = 4u;   // then bits 8… hold activate()'s code

float finishElement(uint epilogue, float v, uint index) {
    if ((epilogue & EPILOGUE_ACTIVATION) != 0u) v = activate(epilogue >> 8u, v);
    if ((epilogue & EPILOGUE_RESIDUAL) != 0u) v += residual[index];
    return v;
}
