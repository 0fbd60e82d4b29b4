import TensorCore
import TestSupport
import XCTest

/// `--profile`: every op between `beginProfile` and `endProfile` is timed once,
/// under its kind and label, on each backend's clock; nothing outside it is.
final class OpProfileTests: XCTestCase {
    /// A small UNet-like sequence: a 3×3 and a 1×1 convolution, a norm, an
    /// attention, a projection, an element-wise add.
    private func runOps(on backend: any Backend) {
        let x = backend.upload((0..<(2 * 8 * 8 * 16)).map { Float($0 % 7) / 7 }, shape: [2, 8, 8, 16])
        let w3 = backend.upload((0..<(32 * 9 * 16)).map { Float($0 % 5) / 50 }, shape: [32, 3, 3, 16])
        let w1 = backend.upload((0..<(16 * 32)).map { Float($0 % 3) / 30 }, shape: [16, 1, 1, 32])
        let gamma = backend.upload(Array(repeating: 1, count: 16), shape: [16])
        let beta = backend.upload(Array(repeating: 0, count: 16), shape: [16])
        let h = x.conv2d(w3, padding: 1).conv2d(w1)
        let n = h.groupNorm(groups: 4, weight: gamma, bias: beta, eps: 1e-5).reshaped([2, 64, 16])
        let attended = backend.attention(q: n, k: n, v: n, heads: 2, scale: 0.35, causal: false, keyMask: nil)
        let projected = attended.linear(backend.upload((0..<(16 * 16)).map { Float($0 % 9) / 90 }, shape: [16, 16]))
        _ = (projected + n).toArray()
    }

    func testEveryOpIsTimedOnceUnderItsKind() throws {
        for backend in TestBackends.all {
            runOps(on: backend)    // warm-up: pipelines created outside the profile
            backend.beginProfile()
            runOps(on: backend)
            let profile = backend.endProfile()
            let name = backend.name
            XCTAssertNotEqual(profile.clock, "none", name)
            let kinds = Dictionary(uniqueKeysWithValues: profile.byKind.map { ($0.kind, $0.count) })
            // The 1×1 convolution is a linear layer inside; it is still one convolution.
            XCTAssertEqual(profile.entries.filter { $0.kind == .convolutions }.reduce(0) { $0 + $1.count }, 2, name)
            XCTAssertGreaterThanOrEqual(kinds[.matrixProducts] ?? 0, 1, name)
            XCTAssertGreaterThanOrEqual(kinds[.norms] ?? 0, 1, name)
            XCTAssertGreaterThanOrEqual(kinds[.attention] ?? 0, 1, name)
            XCTAssertGreaterThanOrEqual(kinds[.elementwise] ?? 0, 1, name)
            XCTAssertTrue(profile.entries.allSatisfy { $0.seconds >= 0 && $0.seconds.isFinite }, name)
            XCTAssertGreaterThan(profile.totalSeconds, 0, name)
            // Matrix products carry their work, so the report can give a rate.
            XCTAssertTrue(profile.entries.filter { $0.kind == .convolutions }.allSatisfy { $0.flops > 0 }, name)
            XCTAssertEqual(profile.entries.map(\.seconds), profile.entries.map(\.seconds).sorted(by: >), name)

            // Off again: the next profile starts empty and ops between are not counted.
            runOps(on: backend)
            backend.beginProfile()
            let empty = backend.endProfile()
            XCTAssertTrue(empty.entries.isEmpty, "\(name): \(empty.entries)")
        }
    }

    func testGPUProfilesSpanManyBatches() throws {
        guard let vulkan = TestBackends.vulkan else { throw XCTSkip("no Vulkan device") }
        // More commands than one batch's queries: each still timed once.
        let x = vulkan.upload(Array(repeating: 0.5, count: 64), shape: [64])
        vulkan.beginProfile()
        var y = x
        for _ in 0..<700 { y = y * 1.0001 }
        _ = y.toArray()
        let profile = vulkan.endProfile()
        XCTAssertEqual(profile.entries.filter { $0.kind == .elementwise }.reduce(0) { $0 + $1.count }, 700)
    }
}
