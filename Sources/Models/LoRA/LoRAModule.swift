import SafeTensors
import TensorCore

/// One low-rank change of a LoRA file: W += multiplier · alpha / rank · up · down,
/// or with LoCon's CP/Tucker form (`lora_mid`) up · mid · down, as A1111's
/// `network_lora` computes it. The tensors stay in the mapped file until merged.
public struct LoRAModule: Sendable {
    /// The module's name in the file (kohya's `lora_unet_…`, or `unet.…` for diffusers/PEFT files).
    public let name: String
    let file: SafeTensorsFile
    let down: TensorInfo
    let up: TensorInfo
    let mid: TensorInfo?
    /// alpha / rank (alpha defaults to the rank: scale 1).
    public let scale: Float

    public var rank: Int { down.shape[0] }
    /// The weight rows it changes (output features or channels).
    public var outputs: Int { up.shape[0] }
    /// Values per row of the change: input features, or input channels × kernel.
    public var inputs: Int {
        let kernel = mid.map { $0.shape.dropFirst(2).reduce(1, *) } ?? 1
        return down.shape.dropFirst().reduce(1, *) * kernel
    }

    init(name: String, file: SafeTensorsFile, down: TensorInfo?, up: TensorInfo?, mid: TensorInfo?,
         alpha: TensorInfo?) throws {
        let path = file.url.path
        func malformed(_ problem: String) -> LoRAError { .malformedModule(path: path, module: name, problem: problem) }
        guard let down else { throw malformed("has no down (lora_down / lora_A) weight") }
        guard let up else { throw malformed("has no up (lora_up / lora_B) weight") }
        for info in [down, up, mid, alpha].compactMap({ $0 }) where info.dtype.tensorDType == nil {
            throw malformed("tensor '\(info.name)' has dtype \(info.dtype.rawValue), not a float type")
        }
        guard [2, 4].contains(down.shape.count), up.shape.count == down.shape.count,
              down.shape.allSatisfy({ $0 > 0 }), up.shape.allSatisfy({ $0 > 0 }) else {
            throw malformed("has down \(down.shape) and up \(up.shape); expected [rank, in] and [out, rank] (or conv kernels)")
        }
        let rank = down.shape[0]
        guard up.shape[1] == rank, up.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw malformed("has down \(down.shape) and up \(up.shape): the ranks differ")
        }
        if let mid {
            guard down.shape.count == 4, mid.shape.count == 4, mid.shape[0] == rank, mid.shape[1] == rank,
                  down.shape[2] == 1, down.shape[3] == 1, mid.shape.allSatisfy({ $0 > 0 }) else {
                throw malformed("has down \(down.shape), mid \(mid.shape) and up \(up.shape); "
                                + "expected [rank, in, 1, 1], [rank, rank, kh, kw] and [out, rank, 1, 1]")
            }
        }
        var alphaValue = Float(rank)
        if let alpha {
            guard alpha.count == 1, let value = try file.floats(alpha.name).first, value.isFinite else {
                throw malformed("has an alpha that is not one finite number")
            }
            alphaValue = value
        }
        self.name = name
        self.file = file
        self.down = down
        self.up = up
        self.mid = mid
        scale = alphaValue / Float(rank)
    }

    /// Adds `multiplier` × the change to `weight`, the module's weight as
    /// stored ([outputs, inputs] values, row-major), in f32.
    public func addChange(into weight: UnsafeMutableBufferPointer<Float>, multiplier: Float) throws {
        precondition(weight.count == outputs * inputs, "a [\(outputs), \(inputs)] change into \(weight.count) values")
        let alpha = multiplier * scale
        let upValues = try values(up), downValues = try values(down)
        guard let mid else {
            HostGEMM.accumulate(m: outputs, n: inputs, k: rank, alpha: alpha, a: upValues, b: downValues,
                                into: weight.baseAddress!)
            return
        }
        // delta[o, i, k] = Σ_n Σ_m up[o, n] · mid[n, m, k] · down[m, i]: first
        // U = up · mid ([out, rank·kernel]), then per output row downᵀ · U[o].
        let kernel = mid.shape[2] * mid.shape[3], channels = down.shape[1]
        let midValues = try values(mid)
        var u = [Float](repeating: 0, count: outputs * rank * kernel)
        HostGEMM.accumulate(m: outputs, n: rank * kernel, k: rank, alpha: 1, a: upValues, b: midValues, into: &u)
        var downT = [Float](repeating: 0, count: channels * rank)
        for m in 0..<rank { for i in 0..<channels { downT[i * rank + m] = downValues[m * channels + i] } }
        for o in 0..<outputs {
            u.withUnsafeBufferPointer { u in
                HostGEMM.accumulate(m: channels, n: kernel, k: rank, alpha: alpha, a: downT,
                                    b: u.baseAddress! + o * rank * kernel,
                                    into: weight.baseAddress! + o * channels * kernel)
            }
        }
    }

    /// A factor as f32; its mapped pages are let go at once (a LoRA's file
    /// should not stay resident beside the weights it was merged into).
    private func values(_ info: TensorInfo) throws -> [Float] {
        let values = ElementConversion.floats(try file.bytes(info.name).baseAddress!, from: info.dtype.tensorDType!,
                                              count: info.count)
        file.releaseResidentPages(of: info.name)
        return values
    }
}
