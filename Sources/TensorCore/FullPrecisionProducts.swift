/// Matrix products that must not round their operands below f32 while a
/// body runs: a backend whose products narrow them (the GPU's matrix units,
/// f16: `MatmulPrecision.f16`) takes its f32 kernels instead. For models that
/// overflow 16-bit floats — SDXL's VAE, whose activations pass 65504, which
/// diffusers decodes in f32 (`force_upcast`) for the same reason. Task-local,
/// like `ComputeCancellation`: it covers what the body records on its task.
/// The CPU's bf16 keeps f32's exponent range and is left as it is.
public enum FullPrecisionProducts {
    @TaskLocal public static var isRequired = false

    /// Runs `body` with full-precision products where `required`.
    public static func run<T>(if required: Bool, _ body: () throws -> T) rethrows -> T {
        guard required else { return try body() }
        return try $isRequired.withValue(true, operation: body)
    }
}
