import Foundation
import Schedulers
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

        for (key, value) in [("prediction_type", "\"flow_prediction\""), ("beta_schedule", "\"exp\""),
                             ("thresholding", "true")] {
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
            XCTAssertEqual(scheduler.usesRandomNoise, [.eulerAncestral, .lcm, .tcd].contains(kind), kind.rawValue)
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

    /// Timestep spacings on small cases worked out by hand from diffusers' numpy code.
    func testTimestepSpacings() throws {
        var config = SchedulerConfiguration()
        XCTAssertEqual(try DDIMScheduler(configuration: config, steps: 4).timesteps, [751, 501, 251, 1])
        XCTAssertEqual(try PNDMScheduler(configuration: config, steps: 4).timesteps, [751, 501, 501, 251, 1])
        config.timestepSpacing = .linspace
        XCTAssertEqual(try DDIMScheduler(configuration: config, steps: 4).timesteps, [999, 666, 333, 0])
        XCTAssertEqual(try EulerDiscreteScheduler(configuration: config, steps: 4).timesteps, [999, 666, 333, 0])
        config.timestepSpacing = .trailing
        XCTAssertEqual(try DDIMScheduler(configuration: config, steps: 4).timesteps, [999, 749, 499, 249])
        XCTAssertEqual(try DDIMScheduler(configuration: config, steps: 3).timesteps, [999, 666, 332])
        config.timestepSpacing = nil
        // linspace(0, 999, 5) = 0, 249.75, 499.5, 749.25, 999 -> rounded half to even.
        XCTAssertEqual(try DPMSolverMultistepScheduler(configuration: config, steps: 4).timesteps, [999, 749, 500, 250])
        let heun = try HeunDiscreteScheduler(configuration: config, steps: 3)
        XCTAssertEqual(heun.timesteps, [999, 499.5, 499.5, 0, 0])
        XCTAssertEqual(heun.sigmas.count, 6)
        XCTAssertEqual(heun.sigmas[1], heun.sigmas[2])
    }

    /// "leading" spacing with SD 1.5's steps_offset 1 reaches timestep 1000 at
    /// 1000 steps, past the 0…999 trained on (diffusers' DDIM and PNDM fail
    /// indexing their alphas there): refused with the most steps that work.
    func testLeadingSpacingPastTheTrainingRangeIsRefused() throws {
        var config = SchedulerConfiguration()
        for make in [{ try DDIMScheduler(configuration: $0, steps: $1) as any Scheduler },
                     { try PNDMScheduler(configuration: $0, steps: $1) as any Scheduler }] {
            XCTAssertEqual(try make(config, 999).timesteps.first, 999)
            XCTAssertThrowsError(try make(config, 1000)) { error in
                guard case .invalid(let message)? = error as? SchedulerError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("timestep 1000") && message.hasSuffix("use at most 999 steps"), message)
            }
        }
        config.stepsOffset = 5  // 500 steps: 499 · 2 + 5 = 1003; 498 steps: 497 · 2 + 5 = 999
        XCTAssertThrowsError(try DDIMScheduler(configuration: config, steps: 500)) { error in
            XCTAssertTrue("\(error)".hasSuffix("use at most 498 steps"), "\(error)")
        }
        XCTAssertEqual(try DDIMScheduler(configuration: config, steps: 498).timesteps.first, 999)
    }
}

/// The registry: one entry per kind, each reachable by its name and by the
/// diffusers class a model's scheduler_config.json names.
final class SchedulerRegistryTests: XCTestCase {
    func testEveryKindIsFoundByNameAndClass() throws {
        XCTAssertEqual(Set(SchedulerKind.allCases.map(\.rawValue)).count, SchedulerKind.allCases.count)
        XCTAssertEqual(Set(SchedulerKind.allCases.map(\.a1111Name)).count, SchedulerKind.allCases.count)
        for kind in SchedulerKind.allCases {
            XCTAssertEqual(SchedulerKind(rawValue: kind.rawValue), kind)
            var configuration = SchedulerConfiguration()
            configuration.useKarrasSigmas = kind.usesKarrasSigmas
            XCTAssertEqual(SchedulerKind(diffusersClassName: kind.diffusersClassName, configuration: configuration), kind)
        }
        XCTAssertNil(SchedulerKind(rawValue: "magic"))
        XCTAssertNil(SchedulerKind(diffusersClassName: "UniPCMultistepScheduler", configuration: SchedulerConfiguration()))
        XCTAssertEqual(SchedulerKind.dpmSolverMultistepKarras.a1111Name, "DPM++ 2M Karras")
    }
}
