import Foundation
import Schedulers
import TestSupport
import XCTest

/// Every scheduler against diffusers on the same inputs. Each run is
/// replayed twice, feeding the recorded model outputs in order:
/// - step by step: every step starts from diffusers' previous sample (so the
///   scheduler sees exactly diffusers' inputs, its multistep history
///   included); each result must be within 1e-5 max abs of diffusers'.
/// - free running: sdgen continues from its own samples, so the last-bit
///   differences of single steps carry over; within 1e-4 by the end.
/// Samples are O(1) (DDIM, PNDM, DPM-Solver) to O(40) (sigma-based, scaled
/// by the initial sigma of 14.6).
/// Initial latents come from `TorchRandomSource` and must equal torch's bit
/// for bit; euler-a's and LCM's per-step noise is drawn from the same source
/// and must equal the noise diffusers' step drew, bit for bit.
final class SchedulerReplayTests: XCTestCase {
    static let tolerance: Float = 1e-5
    static let freeRunningTolerance: Float = 1e-4

    /// Replays one run; returns the worst sample error.
    /// - Parameter relative: errors relative to the sample's largest magnitude (at least 1), for
    ///   zero-terminal-SNR runs, whose first sigma is ~4096 and whose first samples are that large.
    func replay(_ name: String, relative: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let stepwise = try replay(name, teacherForced: true, relative: relative, file: file, line: line)
        let free = try replay(name, teacherForced: false, relative: relative, file: file, line: line)
        XCTAssertLessThanOrEqual(stepwise, Self.tolerance, "\(name): samples, step by step", file: file, line: line)
        XCTAssertLessThanOrEqual(free, Self.freeRunningTolerance, "\(name): samples, free running",
                                 file: file, line: line)
        print("[replay] \(name): max abs error \(stepwise) step by step, \(free) free running")
    }

    /// Replays one run; returns the worst sample error.
    func replay(_ name: String, teacherForced: Bool, relative: Bool, file: StaticString, line: UInt) throws -> Float {
        func error(_ ours: [Float], _ theirs: [Float]) -> Float {
            let difference = maxAbsDifference(ours, theirs)
            return relative ? difference / max(1, theirs.map(abs).max() ?? 1) : difference
        }
        let run = try SchedulerRun.load(name)
        let kind = try XCTUnwrap(SchedulerKind(rawValue: run.kind), file: file, line: line)
        var configuration = run.config
        configuration.eta = run.eta
        var scheduler = try makeScheduler(kind, configuration: configuration, steps: run.numInferenceSteps)
        let (initial, steps) = try run.arrays()

        // Schedule.
        XCTAssertEqual(scheduler.timesteps.count, run.timesteps.count, "\(name): evaluations", file: file, line: line)
        let timestepError = zip(scheduler.timesteps, run.timesteps).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(timestepError, 1e-4, "\(name): timesteps", file: file, line: line)
        if let sigmas = run.sigmas {
            XCTAssertEqual(scheduler.sigmas.count, sigmas.count, "\(name): sigma count", file: file, line: line)
            for (ours, theirs) in zip(scheduler.sigmas, sigmas) {
                XCTAssertEqual(Double(ours), theirs, accuracy: 1e-6 * max(1, theirs), "\(name): sigmas",
                               file: file, line: line)
            }
        } else {
            XCTAssertTrue(scheduler.sigmas.isEmpty, file: file, line: line)
        }
        XCTAssertEqual(scheduler.initNoiseSigma, Float(run.initNoiseSigma), "\(name): init sigma",
                       file: file, line: line)

        // Initial latents: torch.randn(generator) * init_noise_sigma.
        let seed = try XCTUnwrap(UInt64(run.seed))
        var random = RecordingRandomSource(base: TorchRandomSource(seed: seed))
        let latents = random.normal(count: run.count).map { $0 * scheduler.initNoiseSigma }
        XCTAssertEqual(latents.map(\.bitPattern), initial.map(\.bitPattern), "\(name): initial latents",
                       file: file, line: line)

        var sample = initial
        var worst: Float = 0
        var worstInput: Float = 0
        for (i, recorded) in steps.enumerated() {
            let input = scheduler.scaleModelInput(sample, step: i)
            if let expected = recorded["model_input"] {
                worstInput = max(worstInput, error(input, expected))
            } else {
                XCTAssertEqual(input, sample, "\(name): step \(i) input should be unscaled", file: file, line: line)
            }
            let output = try XCTUnwrap(recorded["model_output"])
            let drawsBefore = random.draws.count
            sample = scheduler.step(modelOutput: output, step: i, sample: sample, randomSource: &random)
            if let noise = recorded["noise"] {
                XCTAssertEqual(random.draws.count, drawsBefore + 1, file: file, line: line)
                XCTAssertEqual(random.draws.last?.map(\.bitPattern), noise.map(\.bitPattern),
                               "\(name): step \(i) noise", file: file, line: line)
            } else {
                XCTAssertEqual(random.draws.count, drawsBefore, "\(name): unexpected noise", file: file, line: line)
            }
            let expected = try XCTUnwrap(recorded["sample"])
            let stepError = error(sample, expected)
            worst = max(worst, stepError.isNaN ? .infinity : stepError)
            if teacherForced { sample = expected }
        }
        let inputTolerance = teacherForced ? Self.tolerance : Self.freeRunningTolerance
        XCTAssertLessThanOrEqual(worstInput, inputTolerance, "\(name): model inputs", file: file, line: line)
        if teacherForced {
            print("[replay] \(name): \(steps.count) evaluations, model inputs within \(worstInput), "
                  + "timesteps within \(timestepError)")
        }
        return worst
    }

    func testPNDM() throws { try replay("pndm") }
    func testDDIM() throws { try replay("ddim") }
    func testEuler() throws { try replay("euler") }
    func testEulerAncestral() throws { try replay("euler-a") }
    func testLMS() throws { try replay("lms") }
    func testHeun() throws { try replay("heun") }
    func testDPMSolverMultistep() throws { try replay("dpm++2m") }
    func testEulerKarras() throws { try replay("euler-karras") }
    func testLMSKarras() throws { try replay("lms-karras") }
    func testDPMSolverMultistepKarras() throws { try replay("dpm++2m-karras") }
    func testDDIMVPrediction() throws { try replay("ddim-v") }
    func testEulerVPrediction() throws { try replay("euler-v") }
    func testDDIMTrailing() throws { try replay("ddim-trailing") }
    func testEulerTrailing() throws { try replay("euler-trailing") }
    func testDPMSolverMultistepTrailing() throws { try replay("dpm++2m-trailing") }
    func testPNDMTrailing() throws { try replay("pndm-trailing") }
    func testLCM() throws { try replay("lcm") }
    func testLCMTenSteps() throws { try replay("lcm-10") }
    /// DDIM with η > 0 draws its variance noise every step from the run's generator.
    func testDDIMWithEta() throws {
        try replay("ddim-eta")
        try replay("ddim-eta1-v")
    }
    /// TCD at step()'s default γ 0.3 (no eta passed), deterministic γ 0, v and sample prediction.
    func testTCD() throws {
        for name in ["tcd", "tcd-gamma0", "tcd-v", "tcd-sample"] { try replay(name) }
        try replay("tcd-zsnr", relative: true)
    }
    /// η is DDIM's and TCD's; the other samplers refuse it rather than ignore it.
    func testEtaOnlyForSamplersThatTakeIt() throws {
        var configuration = SchedulerConfiguration()
        configuration.eta = 0.5
        XCTAssertThrowsError(try makeScheduler(.eulerAncestral, configuration: configuration, steps: 4))
        configuration.eta = 1.5
        XCTAssertThrowsError(try makeScheduler(.ddim, configuration: configuration, steps: 4))
    }
    /// rescale_betas_zero_snr with v-prediction and trailing spacing: DDIM and LCM on the rescaled
    /// schedule (ᾱ_T = 0), Euler, Euler a and DPM++ with ᾱ_T raised to 2⁻²⁴ (first sigma ~4096).
    func testZeroTerminalSNR() throws {
        for name in ["ddim-zsnr", "euler-zsnr", "euler-a-zsnr", "dpm++2m-zsnr", "lcm-zsnr"] { try replay(name, relative: true) }
    }

    /// diffusers' Heun, LMS and PNDM have no zero-SNR option (from_config drops it): the schedule stays as trained.
    func testSchedulersWithoutZeroSNRKeepTheirSchedule() throws {
        var configuration = SchedulerConfiguration()
        configuration.rescaleBetasZeroSnr = true
        configuration.timestepSpacing = .trailing
        var plain = configuration
        plain.rescaleBetasZeroSnr = false
        for kind in [SchedulerKind.heun, .lms, .pndm] {
            XCTAssertEqual(try makeScheduler(kind, configuration: configuration, steps: 10).timesteps,
                           try makeScheduler(kind, configuration: plain, steps: 10).timesteps, kind.rawValue)
        }
        XCTAssertEqual(try NoiseSchedule(configuration: configuration, terminalSNR: .asConfigured),
                       try NoiseSchedule(configuration: plain))
        XCTAssertEqual(try NoiseSchedule(configuration: configuration, terminalSNR: .rescaled).alphasCumprod.last, 0)
        XCTAssertEqual(try NoiseSchedule(configuration: configuration, terminalSNR: .rescaledWithFloor).alphasCumprod.last, 0x1p-24)
    }

    /// prediction_type "sample": the model's output is the clean-sample estimate.
    func testSamplePrediction() throws {
        for name in ["ddim-sample", "euler-sample", "heun-sample", "dpm++2m-sample", "lcm-sample"] { try replay(name) }
    }

    /// diffusers' PNDM steps only ε and v; sdgen refuses "sample" there as well, by name.
    func testPNDMRefusesSamplePrediction() {
        var configuration = SchedulerConfiguration()
        configuration.predictionType = .sample
        XCTAssertThrowsError(try makeScheduler(.pndm, configuration: configuration, steps: 10)) { error in
            XCTAssertEqual(error as? SchedulerError, .unsupported(key: "prediction_type",
                                                                  value: "sample (with PNDM; every other sampler has it)"))
        }
    }
}
