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

    /// An init image or mask as `--init-image` reads it (PNG or JPEG by content),
    /// then fitted to another size every way and turned into an inpainting mask's grey.
    static let image = FuzzTarget(name: "image", input: "a PNG or JPEG file") { data in
        let url = Scratch.write(["input": data]).appendingPathComponent("input")
        guard let image = try? ImageFile.read(at: url), image.width * image.height <= 1 << 16 else { return }
        for fit in ImageFit.allCases { _ = image.fitted(width: 24, height: 16, fit) }
        _ = image.grey
    }

    /// A1111's infotext (`sdgen info`), parsed and written back.
    static let infotext = FuzzTarget(name: "infotext", input: "the text of a PNG's parameters chunk") { data in
        guard let parameters = try? GenerationParameters(a1111Text: String(decoding: data, as: UTF8.self)) else { return }
        _ = parameters.a1111Text
    }
}
