/// Element types a tensor can hold. Compute happens in f32 on the CPU; f16 and
/// bf16 exist because checkpoints ship them and GPUs store weights in f16.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16

    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        }
    }

    public var description: String { rawValue }
}
