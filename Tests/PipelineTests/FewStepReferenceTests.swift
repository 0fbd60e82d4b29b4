import Foundation
import ImageIO
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// Few-step sampling against diffusers on the tiny model: `LCMScheduler` at
/// 2, 4 and 8 steps, with guidance and without (guidance 1 runs only the
/// conditional batch), and image to image — the same seeded generator for
/// the initial latents and every step's noise — `TCDScheduler` at γ 0.3 and
/// 0, DDIM with η 0.5, and diffusers' `guidance_rescale` on Euler
/// (scripts/reference/fixtures_few_step.py).
/// Images within 2e-3 on [0, 1] pixels, on every backend.
final class FewStepReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("few_step")

    static func cases(_ kind: String) throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: [String]])?[kind])
    }

    func testTextToImageMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            // On the GPU: LCM with and without guidance (batch 2 and 1), and rescaled guidance.
            for name in TestBackends.cases(try Self.cases("text_to_image"), on: backend,
                                           gpu: ["lcm_4", "lcm_2_no_guidance", "euler_rescale_07"]) {
                let fixture = try Fixture("few_step/\(name).safetensors")
                var request = try GenerationRequest(fixture: fixture)
                request.width = try XCTUnwrap(fixture.int("width"))
                request.height = try XCTUnwrap(fixture.int("height"))
                request.guidanceRescale = fixture.float("guidance_rescale") ?? 0
                request.eta = fixture.string("eta").flatMap(Double.init)
                var evaluations: [Int] = []
                let image = try XCTUnwrap(try service.generate(request) { event in
                    if case let .step(progress) = event { evaluations.append(progress.step) }
                }.first)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "\(name), on \(backend.name)")
                XCTAssertEqual(evaluations.count, request.steps, name)
                XCTAssertEqual(image.parameters.sampler, request.scheduler!.a1111Name, name)
                XCTAssertEqual(image.parameters.extra("CFG Rescale phi").flatMap(Float.init), fixture.float("guidance_rescale"),
                               name)
                if request.guidanceRescale > 0 {
                    // The rescale must matter at this tolerance, or the comparison above proves nothing.
                    var plain = request
                    plain.guidanceRescale = 0
                    let unscaled = try XCTUnwrap(try service.generate(plain).first).pixels
                    let moved = zip(unscaled, try fixture.floats("image")).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertGreaterThan(moved, 2e-2, "\(name): guidance rescale changes nothing")
                }
            }
        }
    }

    func testGuidanceRescaleOutsideZeroToOneIsRefused() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        var request = GenerationRequest(prompt: "x", seed: 1)
        request.guidanceRescale = 1.5
        XCTAssertThrowsError(try service.generate(request)) { error in
            guard case .invalid(.guidanceRescale, _)? = error as? GenerationError else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("between 0 and 1"), "\(error)")
        }
    }

    func testLCMImageToImageMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            for name in try Self.cases("image_to_image") {
                let fixture = try Fixture("few_step/\(name).safetensors")
                var request = try GenerationRequest(fixture: fixture)
                let png = FixturePaths.url("img2img/\(try XCTUnwrap(fixture.string("image"))).png")
                request.initImage = try PNGFile.read(at: png).image
                request.strength = Double(try XCTUnwrap(fixture.string("strength")))
                let image = try XCTUnwrap(try service.generate(request).first)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "\(name), on \(backend.name)")
            }
        }
    }
}

/// `--timestep-spacing` and `--prediction-type`: the model's scheduler config
/// with the request's overrides, its timesteps diffusers' for that spacing,
/// recorded in the PNG; a spacing for LCM (which has none) is refused.
final class SchedulerOverrideTests: XCTestCase {
    func testOverridesReachTheScheduler() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        var request = GenerationRequest(prompt: "a harbour", seed: 5)
        (request.scheduler, request.steps, request.width, request.height) = (.euler, 10, 24, 16)
        XCTAssertNil(try service.resolve(request).schedulerConfiguration.timestepSpacing)

        request.timestepSpacing = .trailing
        request.predictionType = .vPrediction
        let resolved = try service.resolve(request)
        XCTAssertEqual(resolved.schedulerConfiguration.timestepSpacing, .trailing)
        XCTAssertEqual(resolved.schedulerConfiguration.predictionType, .vPrediction)
        // diffusers' EulerDiscreteScheduler with timestep_spacing="trailing", 10 steps (the scheduler fixture).
        let data = try Data(contentsOf: FixturePaths.url("schedulers/euler-trailing.json"))
        let expected = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["timesteps"] as? [Double])
        let scheduler = try resolved.scheduler.make(configuration: resolved.schedulerConfiguration, steps: 10)
        XCTAssertEqual(scheduler.timesteps.map(Double.init), expected)

        let image = try XCTUnwrap(try service.generate(request).first)
        XCTAssertEqual(image.parameters.extra("Timestep spacing"), "trailing")
        XCTAssertEqual(image.parameters.extra("Prediction type"), "v_prediction")
    }

    func testSpacingForDistilledSamplersIsRefused() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        for sampler in [SchedulerKind.lcm, .tcd] {
            var request = GenerationRequest(prompt: "x", seed: 1)
            (request.scheduler, request.timestepSpacing) = (sampler, .trailing)
            XCTAssertThrowsError(try service.resolve(request)) { error in
                guard case .invalid(.timestepSpacing, _)? = error as? GenerationError else { return XCTFail("\(error)") }
            }
        }
    }

    /// η reaches DDIM and TCD (and the PNG), is refused for samplers without
    /// one and outside 0…1.
    func testEta() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        var request = GenerationRequest(prompt: "a harbour", seed: 5)
        (request.scheduler, request.steps, request.width, request.height, request.eta) = (.tcd, 2, 16, 16, 0.6)
        XCTAssertEqual(try service.resolve(request).schedulerConfiguration.eta, 0.6)
        XCTAssertEqual(try XCTUnwrap(try service.generate(request).first).parameters.extra("Eta"), "0.6")
        request.scheduler = .ddim
        XCTAssertEqual(try XCTUnwrap(try service.generate(request).first).parameters.extra("Eta DDIM"), "0.6")
        for (sampler, eta) in [(SchedulerKind.eulerAncestral, 0.5), (.ddim, 1.5), (.tcd, -0.1)] {
            (request.scheduler, request.eta) = (sampler, eta)
            XCTAssertThrowsError(try service.resolve(request), "\(sampler) η \(eta)") { error in
                guard case .invalid(.eta, _)? = error as? GenerationError else { return XCTFail("\(error)") }
            }
        }
    }
}
