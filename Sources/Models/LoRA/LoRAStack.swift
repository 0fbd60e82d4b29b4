import Foundation

/// The LoRAs a model loads with, each at its multipliers (A1111's
/// `<lora:NAME:TE:UNET>`), merged into the weights as they load: one
/// `WeightPatch` per model (`patch(for:)`). Several LoRAs add. It remembers
/// which modules found a weight, so the ones that match nothing can be named.
public final class LoRAStack: @unchecked Sendable {
    public struct Entry: Sendable {
        public let file: LoRAFile
        public let textEncoderMultiplier: Float
        public let unetMultiplier: Float

        public init(file: LoRAFile, textEncoderMultiplier: Float, unetMultiplier: Float) {
            self.file = file
            self.textEncoderMultiplier = textEncoderMultiplier
            self.unetMultiplier = unetMultiplier
        }
    }

    public let entries: [Entry]
    private let lock = NSLock()
    private var used: [Set<String>]

    public init(_ entries: [Entry]) {
        self.entries = entries
        used = entries.map { _ in [] }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// Refuses files made for a model with another number of text encoders
    /// (an SDXL LoRA on SD 1.x, or the reverse) before anything merges.
    public func check(textEncoders: Int, family: ModelFamily) throws {
        for entry in entries {
            guard let count = entry.file.textEncoderCount, count != textEncoders else { continue }
            throw LoRAError.wrongFamily(path: entry.file.url.path, lora: count == 2 ? "SDXL" : "SD 1.x/2.x",
                                        model: family.rawValue)
        }
    }

    /// What merges this stack into `target`'s weights; nil when there is nothing to merge.
    public func patch(for target: LoRATarget) -> (any WeightPatch)? {
        isEmpty ? nil : Patch(stack: self, target: target)
    }

    /// Per file, the module names (and stray tensors) that changed no weight
    /// of the models loaded so far, sorted.
    public func unmatched() -> [(file: LoRAFile, modules: [String])] {
        lock.withLock {
            zip(entries, used).compactMap { entry, used in
                let left = entry.file.modules.keys.filter { !used.contains($0) } + entry.file.strays
                return left.isEmpty ? nil : (entry.file, left.sorted())
            }
        }
    }

    /// The modules of every file that name `key`'s module for `target`.
    fileprivate func matches(_ key: String, target: LoRATarget) -> [(entry: Int, module: LoRAModule)] {
        guard key.hasSuffix(".weight") else { return [] }
        let candidates = target.candidates(String(key.dropLast(".weight".count)))
        return entries.indices.compactMap { index in
            candidates.lazy.compactMap { self.entries[index].file.modules[$0] }.first.map { (index, $0) }
        }
    }

    fileprivate func markUsed(_ module: String, entry: Int) {
        lock.withLock { _ = used[entry].insert(module) }
    }

    private struct Patch: WeightPatch {
        let stack: LoRAStack
        let target: LoRATarget

        func changes(_ key: String) -> Bool { !stack.matches(key, target: target).isEmpty }

        func apply(to key: String, values: UnsafeMutableBufferPointer<Float>, shape: [Int]) throws {
            for (index, module) in stack.matches(key, target: target) {
                let entry = stack.entries[index]
                let rows = shape.first ?? 1, columns = shape.dropFirst().reduce(1, *)
                guard module.outputs == rows, module.inputs == columns else {
                    throw LoRAError.shapeMismatch(path: entry.file.url.path, module: module.name,
                                                  change: [module.outputs, module.inputs], key: key, weight: shape)
                }
                stack.markUsed(module.name, entry: index)
                let multiplier = target.isTextEncoder ? entry.textEncoderMultiplier : entry.unetMultiplier
                if multiplier != 0 { try module.addChange(into: values, multiplier: multiplier) }
            }
        }
    }
}
