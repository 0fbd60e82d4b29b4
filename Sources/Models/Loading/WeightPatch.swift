/// A change to some of a model's weights, made as they load (a LoRA merge):
/// `WeightSource` hands the patch each tensor it changes as f32 values in the
/// checkpoint's own layout, then stores the result in the dtype the backend
/// keeps that weight in — so a patched model runs exactly as fast as the plain one.
public protocol WeightPatch: Sendable {
    /// Whether the tensor of this model key (diffusers/transformers name) changes.
    func changes(_ key: String) -> Bool
    /// Adds the change to `values`, the tensor as stored (`shape`, row-major).
    func apply(to key: String, values: UnsafeMutableBufferPointer<Float>, shape: [Int]) throws
}
