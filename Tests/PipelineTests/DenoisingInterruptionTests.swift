import Foundation
import Models
import Pipeline
import SafeTensors
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// A1111's interrupt and skip abandon the UNet evaluation under way instead of
/// waiting for it (a step can take minutes at large sizes): the loop returns
/// the latents of the evaluations finished before it, and a skip is used up.
final class DenoisingInterruptionTests: XCTestCase {
    static let unet: UNet2DConditionModel = {
        let folder = FixturePaths.url("pipeline/unet")
        let configuration = try! UNetConfiguration.load(folder.appendingPathComponent("config.json"))
        let file = try! SafeTensorsFile(url: folder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        return try! UNet2DConditionModel(configuration: configuration,
                                         weights: WeightSource(files: [file], backend: TestBackends.cpu).root)
    }()

    /// Runs 4 Euler steps on an 8×8 latent, calling `during(i)` while
    /// evaluation i is under way (from the conditioning it asks for); returns
    /// the latents after each finished step and the loop's result.
    func run(interruption: SamplingInterruption, during: (Int) -> Void) throws -> (steps: [[Float]], result: [Float]) {
        let shape = LatentShape(channels: 4, height: 8, width: 8)
        let loop = DenoisingLoop(unet: Self.unet, shape: shape, guidance: 1)
        var scheduler: any Scheduler = try EulerDiscreteScheduler(configuration: SchedulerConfiguration(), steps: 4)
        var random: any RandomSource = TorchRandomSource(seed: 7)
        let noise = (0..<shape.count).map { Float(sin(Double($0))) * scheduler.initNoiseSigma }
        let context = TestBackends.cpu.upload((0..<(77 * 32)).map { Float(cos(Double($0))) }, shape: [1, 77, 32])
        var steps: [[Float]] = []
        let result = try loop.run(from: LatentStart(latents: noise), scheduler: &scheduler,
                                  conditioning: { i in
                                      during(i)
                                      return Conditioning(sequence: context, truncatedTokens: [0])
                                  },
                                  random: &random, interruption: interruption) { _, _, _, latents in
            steps.append(latents)
        }
        return (steps, result)
    }

    func testInterruptAndSkipAbandonTheStepUnderWay() throws {
        let whole = try run(interruption: SamplingInterruption()) { _ in }
        XCTAssertEqual(whole.steps.count, 4)
        XCTAssertEqual(whole.result, whole.steps[3])

        for stop in [{ (i: SamplingInterruption) in i.interrupt() }, { $0.skip() }] {
            let interruption = SamplingInterruption()
            let cut = try run(interruption: interruption) { i in if i == 2 { stop(interruption) } }
            XCTAssertEqual(cut.steps.count, 2, "evaluation 2 is abandoned, not finished")
            XCTAssertEqual(cut.steps, Array(whole.steps.prefix(2)), "the steps before it are the uninterrupted run's")
            XCTAssertEqual(cut.result, whole.steps[1], "the latents from before the abandoned evaluation")
        }
        // A skip is used up where it ends an image: the next image runs whole.
        let skipped = SamplingInterruption()
        _ = try run(interruption: skipped) { i in if i == 1 { skipped.skip() } }
        XCTAssertEqual(try run(interruption: skipped) { _ in }.result, whole.result)
        XCTAssertFalse(skipped.isInterrupted)
    }
}
