import Foundation
@testable import Schedulers
import TestSupport
import XCTest

final class SchedulerConfigurationTests: XCTestCase {
    func testDecodesStableDiffusion15File() throws {
        let config = try SchedulerConfiguration.load(from: FixturePaths.url("schedulers/sd15_scheduler_config.json"))
        XCTAssertEqual(config, SchedulerConfiguration())
        XCTAssertEqual(config.betaSchedule, .scaledLinear)
        XCTAssertEqual(config.stepsOffset, 1)
        XCTAssertNil(config.timestepSpacing)
        XCTAssertNil(config.trainedBetas)
    }

    func testDecodesDiffusersNamesAndRejectsWhatItCannotDo() throws {
        let json = #"""
        {"_class_name": "EulerDiscreteScheduler", "beta_schedule": "linear", "beta_start": 0.0001,
         "beta_end": 0.02, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
         "timestep_spacing": "trailing", "use_karras_sigmas": true, "steps_offset": 0,
         "interpolation_type": "linear", "rescale_betas_zero_snr": false}
        """#
        let config = try JSONDecoder().decode(SchedulerConfiguration.self, from: Data(json.utf8))
        XCTAssertEqual(config.betaSchedule, .linear)
        XCTAssertEqual(config.predictionType, .vPrediction)
        XCTAssertEqual(config.timestepSpacing, .trailing)
        XCTAssertTrue(config.useKarrasSigmas)
        XCTAssertEqual(config.stepsOffset, 0)

        let roundTrip = try JSONDecoder().decode(SchedulerConfiguration.self, from: JSONEncoder().encode(config))
        XCTAssertEqual(roundTrip, config)

        for (key, value) in [("prediction_type", "\"sample\""), ("beta_schedule", "\"exp\""),
                             ("rescale_betas_zero_snr", "true"), ("thresholding", "true")] {
            let bad = Data("{\"\(key)\": \(value)}".utf8)
            XCTAssertThrowsError(try JSONDecoder().decode(SchedulerConfiguration.self, from: bad)) { error in
                guard case SchedulerError.unsupported(let k, _) = error else {
                    return XCTFail("\(key): \(error)")
                }
                XCTAssertEqual(k, key)
            }
        }
        var prk = SchedulerConfiguration()
        prk.skipPrkSteps = false
        XCTAssertThrowsError(try makeScheduler(.pndm, configuration: prk, steps: 20))
        XCTAssertThrowsError(try makeScheduler(.euler, steps: 0))
        XCTAssertThrowsError(try makeScheduler(.euler, steps: 1001))
    }

    /// The training schedule is where every scheduler starts: bit for bit
    /// with torch's float32 linspace / cumprod.
    func testAlphasCumprodBitExact() throws {
        let expected = try readFloats("schedulers/alphas_cumprod.f32")
        let noise = try NoiseSchedule(configuration: SchedulerConfiguration())
        XCTAssertEqual(noise.alphasCumprod.map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testEvaluationCounts() throws {
        for kind in SchedulerKind.allCases {
            let scheduler = try makeScheduler(kind, steps: 25)
            let expected = kind == .heun ? 49 : kind == .pndm ? 26 : 25
            XCTAssertEqual(scheduler.timesteps.count, expected, kind.rawValue)
            XCTAssertEqual(scheduler.usesRandomNoise, kind == .eulerAncestral, kind.rawValue)
            if !scheduler.sigmas.isEmpty {
                XCTAssertEqual(scheduler.sigmas.count, scheduler.timesteps.count + 1, kind.rawValue)
                XCTAssertEqual(scheduler.sigmas.last, 0, kind.rawValue)
            }
        }
    }

    /// The LMS weights of one step integrate Lagrange basis polynomials, which
    /// sum to 1: together they integrate to the step's length.
    func testLMSCoefficientsSumToStepLength() throws {
        let lms = try LMSDiscreteScheduler(steps: 30)
        for step in 0..<29 {
            let order = min(step + 1, LMSDiscreteScheduler.maxOrder)
            let sum = (0..<order).map { lms.coefficient(order: order, step: step, node: $0) }.reduce(0, +)
            let length = Double(lms.sigmas[step + 1]) - Double(lms.sigmas[step])
            XCTAssertEqual(sum, length, accuracy: 1e-12 * max(1, abs(length)))
        }
    }

    func testGaussLegendreIsExactForCubics() {
        let integral = GaussLegendre.integrate({ 4 * $0 * $0 * $0 - 3 * $0 * $0 + 2 }, from: -1.5, to: 2.25)
        // ∫ 4x³ - 3x² + 2 dx = x⁴ - x³ + 2x
        let f = { (x: Double) in x * x * x * x - x * x * x + 2 * x }
        XCTAssertEqual(integral, f(2.25) - f(-1.5), accuracy: 1e-12)
    }

    /// The loop a pipeline writes, with both the scheduler and the random
    /// source as existentials (the CLI picks them at run time).
    func testPipelineLoopWithExistentials() throws {
        func run() throws -> [Float] {
            var scheduler: any Scheduler = try makeScheduler(.eulerAncestral, steps: 4)
            var random: any RandomSource = RandomSourceKind.philox.makeSource(seed: 99)
            var latents = random.normal(count: 40).map { $0 * scheduler.initNoiseSigma }
            for i in scheduler.timesteps.indices {
                let input = scheduler.scaleModelInput(latents, step: i)
                let output = input.map { 0.5 * $0 }
                latents = scheduler.step(modelOutput: output, step: i, sample: latents, randomSource: &random)
            }
            return latents
        }
        let first = try run(), second = try run()
        XCTAssertEqual(first, second)
        XCTAssertTrue(first.allSatisfy(\.isFinite))

        var ddim = try makeScheduler(.ddim, steps: 3)
        var x = [Float](repeating: 0.5, count: 8)
        for i in ddim.timesteps.indices { x = ddim.step(modelOutput: x, step: i, sample: x) }
        XCTAssertTrue(x.allSatisfy(\.isFinite))
    }

    func testNumPyHelpers() {
        XCTAssertEqual(NumPy.linspace(0, 999, count: 4), [0, 333, 666, 999])
        XCTAssertEqual(NumPy.arange(1000, 0, step: -250), [1000, 750, 500, 250])
        XCTAssertEqual(NumPy.round(2.5), 2)
        XCTAssertEqual(NumPy.round(3.5), 4)
        XCTAssertEqual(NumPy.interpolate(1.25, table: [0, 4, 8]), 5)
        XCTAssertEqual(NumPy.interpolate(-1, table: [1, 4, 8]), 1)
        XCTAssertEqual(NumPy.interpolate(9, table: [1, 4, 8]), 8)
    }
}
