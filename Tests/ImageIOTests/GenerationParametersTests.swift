import Foundation
import ImageIO
import TestSupport
import XCTest

final class GenerationParametersTests: XCTestCase {
    let basic = GenerationParameters(prompt: "a photo of a cat", negativePrompt: "blurry, low quality",
                                     steps: 50, sampler: "PNDM", cfgScale: 7.5, seed: 42,
                                     width: 512, height: 512, model: "v1-5-pruned-emaonly")

    func testRendersLikeA1111() {
        XCTAssertEqual(basic.a1111Text, """
            a photo of a cat
            Negative prompt: blurry, low quality
            Steps: 50, Sampler: PNDM, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: v1-5-pruned-emaonly
            """)
    }

    func testNoNegativePromptLineWhenEmpty() {
        var parameters = basic
        parameters.negativePrompt = ""
        parameters.model = nil
        parameters.cfgScale = 7
        XCTAssertEqual(parameters.a1111Text, """
            a photo of a cat
            Steps: 50, Sampler: PNDM, CFG scale: 7.0, Seed: 42, Size: 512x512
            """)
    }

    func testModelHashBeforeModelAndExtrasAfter() {
        var parameters = basic
        parameters.negativePrompt = ""
        parameters.modelHash = "6ce0161689"
        parameters.extras = [.init(key: "Clip skip", value: "2"), .init(key: "Version", value: "sdgen 0.1")]
        XCTAssertEqual(parameters.a1111Text.split(separator: "\n").last, """
            Steps: 50, Sampler: PNDM, CFG scale: 7.5, Seed: 42, Size: 512x512, Model hash: 6ce0161689, \
            Model: v1-5-pruned-emaonly, Clip skip: 2, Version: sdgen 0.1
            """)
        XCTAssertEqual(parameters.extra("Clip skip"), "2")
    }

    /// Values with `,`, `:` or a newline are written as JSON strings, as A1111's `quote` does.
    func testQuotesValuesLikeA1111() {
        var parameters = basic
        parameters.negativePrompt = ""
        parameters.model = "my model, v2: \"final\"\\fixed"
        parameters.extras = [.init(key: "Note", value: "line1\nline2\ttab\u{1}ctl é")]
        let expected = #"Steps: 50, Sampler: PNDM, CFG scale: 7.5, Seed: 42, Size: 512x512, "#
            + #"Model: "my model, v2: \"final\"\\fixed", Note: "line1\nline2\ttab\u0001ctl é""#
        XCTAssertEqual(parameters.a1111Text.split(separator: "\n").last.map(String.init), expected)
    }

    /// A1111 would write `"in quotes"` bare and strip the quotes on reading;
    /// quoting it keeps the value intact for both readers.
    func testQuotesValuesThatLookQuoted() throws {
        var parameters = basic
        parameters.extras = [.init(key: "Quoted", value: "\"in quotes\"")]
        XCTAssertTrue(parameters.a1111Text.hasSuffix(#"Quoted: "\"in quotes\"""#))
        XCTAssertEqual(try GenerationParameters(a1111Text: parameters.a1111Text), parameters)
    }

    func testRoundTrips() throws {
        let cases: [GenerationParameters] = [
            basic,
            GenerationParameters(prompt: "masterpiece, (cat:1.2), [dog], style: oil painting, 8k",
                                 negativePrompt: "text, watermark: none",
                                 steps: 20, sampler: "DPM++ 2M Karras", cfgScale: 7, seed: 4_294_967_295,
                                 width: 768, height: 512, modelHash: "abc123", model: "sd-v1-5, pruned",
                                 extras: [.init(key: "Clip skip", value: "2"),
                                          .init(key: "Schedule type", value: "Karras"),
                                          .init(key: "Lora hashes", value: "a: 1, b: 2"),
                                          .init(key: "Quoted", value: "\"in quotes\"")]),
            GenerationParameters(prompt: "line one, with comma\nline two: with colon\n\nline four",
                                 negativePrompt: "neg one\nneg two, more",
                                 steps: 1, sampler: "Euler a", cfgScale: 1.25, seed: 0,
                                 width: 64, height: 1024),
            GenerationParameters(prompt: "", negativePrompt: "only negative", steps: 30, sampler: "DDIM",
                                 cfgScale: 12.5, seed: UInt64.max, width: 512, height: 768, model: "m"),
            GenerationParameters(prompt: "", steps: 30, sampler: "LMS", cfgScale: 0.5, seed: 7,
                                 width: 8, height: 8),
            GenerationParameters(prompt: "猫 and café, “smart quotes”, emoji 🐈", negativePrompt: "Ω: ok",
                                 steps: 25, sampler: "Euler", cfgScale: 7.5, seed: 1234,
                                 width: 512, height: 512, model: "모델"),
            GenerationParameters(prompt: "Steps: 1, Sampler: fake, CFG scale: 2", steps: 3, sampler: "PNDM",
                                 cfgScale: 7.5, seed: 5, width: 512, height: 512),
        ]
        for parameters in cases {
            let text = parameters.a1111Text
            XCTAssertEqual(try GenerationParameters(a1111Text: text), parameters, text)
        }
    }

    /// Infotext as A1111 writes it, with fields sdgen does not know.
    func testParsesA1111Output() throws {
        let text = """
            girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, intricate
            Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn hands), messy drawing
            Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.4, Hires upscale: 2, Version: v1.10.1
            """
        let parameters = try GenerationParameters(a1111Text: text)
        XCTAssertTrue(parameters.prompt.hasPrefix("girl with an artist's beret"))
        XCTAssertTrue(parameters.negativePrompt.hasPrefix("ugly, fat"))
        XCTAssertEqual(parameters.steps, 20)
        XCTAssertEqual(parameters.sampler, "Euler a")
        XCTAssertEqual(parameters.cfgScale, 7)
        XCTAssertEqual(parameters.seed, 965_400_086)
        XCTAssertEqual(parameters.width, 512)
        XCTAssertEqual(parameters.modelHash, "6ce0161689")
        XCTAssertEqual(parameters.model, "v1-5-pruned-emaonly")
        XCTAssertEqual(parameters.extras.map(\.key), ["Schedule type", "Denoising strength", "Hires upscale", "Version"])
        XCTAssertEqual(parameters.extra("Version"), "v1.10.1")
    }

    /// A1111 trims each prompt line and splits lines on "\n" only.
    func testTrimsPromptLinesLikeA1111() throws {
        let text = "  first line  \r\n\tsecond\nNegative prompt:   neg  \nSteps: 5, Sampler: DDIM, CFG scale: 3.5, Seed: 9, Size: 64x64"
        let parameters = try GenerationParameters(a1111Text: text)
        XCTAssertEqual(parameters.prompt, "first line\nsecond")
        XCTAssertEqual(parameters.negativePrompt, "neg")
    }

    func testNumbersMayCarryBlanks() throws {
        let parameters = try GenerationParameters(a1111Text: "p\nSteps: 5 , Sampler: DDIM, CFG scale: 3.5 , Seed: 9 , Size: 64x32 ")
        XCTAssertEqual([parameters.steps, Int(parameters.seed), parameters.width, parameters.height], [5, 9, 64, 32])
        XCTAssertEqual(parameters.cfgScale, 3.5)
    }

    /// The parameter line read as A1111 reads it (`re_param.findall`, then
    /// `unquote`), on 613 lines of quotes, backslashes, colons, commas, tabs
    /// and non-ASCII letters and digits (scripts/reference/make_infotext_fixtures.py).
    func testParameterLinesReadAsA1111ReadsThem() throws {
        let data = try Data(contentsOf: FixturePaths.url("infotext/cases.json"))
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertEqual(cases.count, 613)
        for (index, entry) in cases.enumerated() {
            let text = try XCTUnwrap(entry["text"] as? String)
            let expected = try XCTUnwrap(entry["extras"] as? [String: String])
            let parameters = try GenerationParameters(a1111Text: text)
            let extras = Dictionary(parameters.extras.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            XCTAssertEqual(extras, expected, "case \(index): \(text.split(separator: "\n").last ?? "")")
            XCTAssertEqual([parameters.steps, parameters.width], [20, 8], "case \(index)")
        }
    }

    /// A long prompt line with no parameters in it is read in linear time (a
    /// backtracking match of A1111's pattern took 43 s at 16 KB, minutes at 50).
    func testLongLineWithoutParametersIsQuick() {
        for line in [String(repeating: "a", count: 1 << 20), String(repeating: "ab c-d/", count: 1 << 17),
                     String(repeating: " ", count: 1 << 20) + "x"] {
            XCTAssertThrowsError(try GenerationParameters(a1111Text: "prompt\n" + line)) {
                XCTAssertEqual($0 as? GenerationParametersError, .missingParameterLine)
            }
        }
    }

    func testErrors() {
        XCTAssertThrowsError(try GenerationParameters(a1111Text: "just a prompt")) {
            XCTAssertEqual($0 as? GenerationParametersError, .missingParameterLine)
        }
        XCTAssertThrowsError(try GenerationParameters(a1111Text: "p\nSteps: 5, Sampler: DDIM, CFG scale: 3.5, Size: 64x64")) {
            XCTAssertEqual($0 as? GenerationParametersError, .missingField("Seed"))
        }
        XCTAssertThrowsError(try GenerationParameters(a1111Text: "p\nSteps: five, Sampler: DDIM, CFG scale: 3.5, Seed: 1, Size: 64x64")) {
            XCTAssertEqual($0 as? GenerationParametersError, .invalidValue(field: "Steps", value: "five"))
        }
        XCTAssertThrowsError(try GenerationParameters(a1111Text: "p\nSteps: 5, Sampler: DDIM, CFG scale: 3.5, Seed: 1, Size: 64x")) {
            XCTAssertEqual($0 as? GenerationParametersError, .invalidValue(field: "Size", value: "64x"))
            XCTAssertEqual("\($0)", "the parameters text has an invalid 'Size' value: 64x")
        }
    }
}
