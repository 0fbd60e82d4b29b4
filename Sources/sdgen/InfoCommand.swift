import ArgumentParser
import Foundation
import ImageIO

/// `sdgen info FILE.png`: the generation parameters stored in an image, as
/// written (the A1111 text) or parsed (`--json`).
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the generation parameters stored in a PNG (sdgen's or A1111's).")

    @Argument(help: "The PNG file.")
    var file: String

    @Flag(help: "Print the parsed fields as JSON.")
    var json = false

    func run() throws {
        let url = URL(fileURLWithPath: file)
        guard let text = try PNGFile.textChunks(at: url)[PNGFile.parametersKey] else {
            throw CommandFailure("\(url.path) holds no generation parameters (no '\(PNGFile.parametersKey)' text chunk)")
        }
        guard json else {
            print(text)
            return
        }
        do {
            print(try Self.json(GenerationParameters(a1111Text: text), text: text))
        } catch let error as GenerationParametersError {
            throw CommandFailure("\(url.path): \(error)")
        }
    }

    /// snake_case keys, sorted, so scripts can rely on the output.
    private struct JSONParameters: Encodable {
        var prompt: String
        var negative_prompt: String
        var steps: Int
        var sampler: String
        var cfg_scale: Double
        var seed: UInt64
        var width: Int
        var height: Int
        var model: String?
        var model_hash: String?
        var extras: [String: String]
        var parameters: String
    }

    private static func json(_ parameters: GenerationParameters, text: String) throws -> String {
        var extras: [String: String] = [:]
        for field in parameters.extras { extras[field.key] = field.value }
        let value = JSONParameters(
            prompt: parameters.prompt, negative_prompt: parameters.negativePrompt, steps: parameters.steps,
            sampler: parameters.sampler, cfg_scale: parameters.cfgScale, seed: parameters.seed,
            width: parameters.width, height: parameters.height, model: parameters.model,
            model_hash: parameters.modelHash, extras: extras, parameters: text)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
