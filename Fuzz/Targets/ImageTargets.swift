import Foundation
import ImageIO

extension FuzzTarget {
    /// A PNG: pixels of any colour type and depth, and its text chunks; the
    /// `parameters` chunk goes on to the infotext parser.
    static let png = FuzzTarget(name: "png", input: "a PNG file") { data in
        let url = Scratch.write(["image.png": data]).appendingPathComponent("image.png")
        guard let (_, text) = try? PNGFile.read(at: url) else { return }
        if let infotext = text[PNGFile.parametersKey] { _ = try? GenerationParameters(a1111Text: infotext) }
    }

    /// A1111's infotext (`sdgen info`), parsed and written back.
    static let infotext = FuzzTarget(name: "infotext", input: "the text of a PNG's parameters chunk") { data in
        guard let parameters = try? GenerationParameters(a1111Text: String(decoding: data, as: UTF8.self)) else { return }
        _ = parameters.a1111Text
    }
}
