import Foundation
import Schedulers
import TestSupport

/// One recorded diffusers run (Tests/Fixtures/schedulers/<name>.json + .f32),
/// written by scripts/reference/fixtures_schedulers.py.
struct SchedulerRun: Decodable {
    let name: String
    let kind: String
    let config: SchedulerConfiguration
    let numInferenceSteps: Int
    let shape: [Int]
    let seed: String
    let timesteps: [Double]
    let sigmas: [Double]?
    let initNoiseSigma: Double
    let data: String
    let perStep: [String]
    /// Evaluations whose step drew noise (LCM: all but the last); the
    /// "noise" recorded for the others is a placeholder. Absent: all.
    let noiseSteps: Int?
    /// The eta passed to diffusers' step() (DDIM, TCD), if any.
    let eta: Double?

    enum CodingKeys: String, CodingKey {
        case name, kind, config, shape, seed, timesteps, sigmas, data
        case numInferenceSteps = "num_inference_steps"
        case initNoiseSigma = "init_noise_sigma"
        case perStep = "per_step"
        case noiseSteps = "noise_steps"
        case eta
    }

    var count: Int { shape.reduce(1, *) }

    static func load(_ name: String) throws -> SchedulerRun {
        let url = FixturePaths.url("schedulers/\(name).json")
        return try JSONDecoder().decode(SchedulerRun.self, from: Data(contentsOf: url))
    }

    /// The recorded arrays: `initial`, then per model evaluation the arrays
    /// named in `perStep`.
    func arrays() throws -> (initial: [Float], steps: [[String: [Float]]]) {
        let all = try readFloats("schedulers/\(data)")
        let n = count
        let evaluations = timesteps.count
        guard all.count == n * (1 + evaluations * perStep.count) else {
            throw FixtureError.layout("\(data): \(all.count) floats for \(evaluations) evaluations")
        }
        var offset = n
        var steps: [[String: [Float]]] = []
        for evaluation in 0..<evaluations {
            var entry: [String: [Float]] = [:]
            for key in perStep {
                entry[key] = Array(all[offset..<(offset + n)])
                offset += n
            }
            if evaluation >= noiseSteps ?? evaluations { entry["noise"] = nil }
            steps.append(entry)
        }
        return (Array(all[0..<n]), steps)
    }
}
