import CBLAS
import CPUKernels
import Foundation

/// Which of sdgen's CPU kernels run the matrix products and attention: the
/// widest set this CPU has (from cpuid), or a narrower one named by
/// `SDGEN_CPU`, so every path can be tested and measured on any machine.
/// Ordered: each set can do what the ones before it do.
///
/// sdgen owns the hot path: with AVX2 or AVX-512 every f32 product goes
/// through its own GEMM, so speed does not hang on whether the installed
/// OpenBLAS recognises the CPU (Debian's 0.3.21 takes Emerald Rapids for a
/// Prescott and runs SSE3 kernels, a third of the machine's speed).
public enum CPUKernelSet: String, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// OpenBLAS's sgemm for products (whatever kernels it picks for this CPU),
    /// attention as two products around a softmax, bf16 emulated.
    case generic
    /// sdgen's f32 GEMM on AVX2 + FMA (6×16 register tile).
    case avx2
    /// AVX-512 F/BW/VL/DQ: the 12×32 f32 GEMM and the fused attention.
    case avx512
    /// AVX-512 with BF16: native bf16 products (VDPBF16PS) for `--precision bf16`.
    case avx512BF16 = "avx512-bf16"

    /// The environment variable that narrows the set.
    public static let environmentVariable = "SDGEN_CPU"

    /// The widest set this CPU can run.
    public static let detected: CPUKernelSet =
        sdgen_bf16_gemm_supported() != 0 ? .avx512BF16
        : sdgen_avx512_supported() != 0 ? .avx512
        : sdgen_avx2_supported() != 0 ? .avx2
        : .generic

    /// Every set this CPU can run, narrowest first.
    public static var available: [CPUKernelSet] { allCases.filter { $0 <= detected } }

    /// `SDGEN_CPU` if set (it may only narrow what the CPU has), else `detected`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CPUKernelSetError) -> CPUKernelSet {
        guard let value = environment[environmentVariable], !value.isEmpty else { return detected }
        guard let set = CPUKernelSet(rawValue: value.lowercased()) else { throw .unknown(value) }
        guard set <= detected else { throw .unsupported(set, detected: detected) }
        return set
    }

    /// What a backend takes when not told: `fromEnvironment`, or `detected`
    /// where `SDGEN_CPU` is invalid (the CLI reports that before it gets here).
    public static var selected: CPUKernelSet { (try? fromEnvironment()) ?? detected }

    public static func < (a: CPUKernelSet, b: CPUKernelSet) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public var description: String { rawValue }

    /// What computes f32 products under this set, for reports.
    public var productKernels: String {
        switch self {
        case .generic: "OpenBLAS \(Self.openBLASCore) kernels"
        case .avx2: "sdgen AVX2 kernels"
        case .avx512, .avx512BF16: "sdgen AVX-512 kernels"
        }
    }

    /// The kernels OpenBLAS chose for this CPU (e.g. "Haswell", "SkylakeX";
    /// "Prescott" where it does not know the CPU and runs generic SSE3 code).
    public static let openBLASCore: String = {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }()
}

public enum CPUKernelSetError: Error, CustomStringConvertible, Equatable {
    case unknown(String)
    case unsupported(CPUKernelSet, detected: CPUKernelSet)

    public var description: String {
        let known = CPUKernelSet.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case let .unknown(value):
            return "\(CPUKernelSet.environmentVariable)=\(value) is not a CPU kernel set; known: \(known)"
        case let .unsupported(set, detected):
            let usable = CPUKernelSet.available.map(\.rawValue).joined(separator: ", ")
            return "\(CPUKernelSet.environmentVariable)=\(set) needs instructions this CPU lacks "
                + "(it runs \(detected); choose one of \(usable))"
        }
    }
}

extension CPUKernelSet {
    /// The CPU as /proc/cpuinfo names it, with its family and model numbers
    /// (what tells Zen 4 from Emerald Rapids when the name is generic), for
    /// every report of a number measured on it.
    public static let processorName: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.isEmpty { break }  // the first processor is enough
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
        }
        let name = fields["model name"] ?? "unknown CPU"
        guard let family = fields["cpu family"], let model = fields["model"] else { return name }
        return "\(name) (family \(family) model \(model))"
    }()
}
