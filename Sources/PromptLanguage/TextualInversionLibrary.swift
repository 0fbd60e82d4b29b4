import Foundation
import SafeTensors
import Tokenizers

/// Textual-inversion embeddings (A1111's `EmbeddingDatabase`): the
/// `.safetensors` files of a folder, each named by its file stem. A prompt
/// word equal to a name is replaced by the file's vectors, several tokens
/// long, weights and chunking included.
public struct TextualInversionLibrary: Sendable {
    /// One embedding: `vectorCount` vectors for each text encoder it was
    /// trained for, by the encoder's width (SDXL's files hold one set for
    /// CLIP ViT-L, `clip_l`, and one for OpenCLIP bigG, `clip_g`).
    public struct Embedding: Sendable, Equatable {
        public let name: String
        public let vectorCount: Int
        /// Row-major [vectorCount, width] values by width.
        public let valuesByWidth: [Int: [Float]]

        public init(name: String, width: Int, values: [Float]) {
            self.init(name: name, valuesByWidth: [width: values])
        }

        public init(name: String, valuesByWidth: [Int: [Float]]) {
            self.name = name
            self.valuesByWidth = valuesByWidth
            vectorCount = valuesByWidth.first.map { $0.value.count / max($0.key, 1) } ?? 0
        }

        /// The widths it has vectors for, narrowest first.
        public var widths: [Int] { valuesByWidth.keys.sorted() }
        /// The widest set's width (what A1111's API lists as its shape).
        public var width: Int { widths.last ?? 0 }

        /// The vectors for a text encoder `width` wide, if the embedding has them.
        public func values(forWidth width: Int) -> [Float]? { valuesByWidth[width] }
    }

    public let embeddings: [String: Embedding]
    /// Files of the folder that are no embedding sdgen can read, each with why:
    /// left out, as A1111 leaves them out, for the caller to warn about.
    public let skipped: [EmbeddingError]

    public static let empty = TextualInversionLibrary(embeddings: [:])

    public init(embeddings: [String: Embedding]) {
        self.embeddings = embeddings
        skipped = []
    }

    /// Every `.safetensors` in `folder` that is an embedding (none if the
    /// folder does not exist); the others in `skipped` — one stray file must
    /// not stop every prompt, most of which name no embedding.
    public init(folder: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var found: [String: Embedding] = [:]
        var skipped: [EmbeddingError] = []
        for file in names.sorted() where file.hasSuffix(".safetensors") {
            let url = folder.appendingPathComponent(file)
            do {
                let embedding = try Self.load(url)
                found[embedding.name] = embedding
            } catch {
                // A safetensors error names the file already.
                skipped.append(error as? EmbeddingError ?? EmbeddingError(describing: error))
            }
        }
        embeddings = found
        self.skipped = skipped
    }

    /// A1111's layouts: `emb_params` [n, width]; SDXL's `clip_l` and `clip_g`
    /// (one set per text encoder, as many vectors each); or a file with a single tensor.
    static func load(_ url: URL) throws -> Embedding {
        let file = try SafeTensorsFile(url: url)
        let name = url.deletingPathExtension().lastPathComponent
        let keys: [String]
        if file.info("emb_params") != nil {
            keys = ["emb_params"]
        } else if file.info("clip_l") != nil || file.info("clip_g") != nil {
            keys = ["clip_l", "clip_g"].filter { file.info($0) != nil }
        } else if file.names.count == 1 {
            keys = [file.names[0]]
        } else {
            throw EmbeddingError(url.path, "not a textual-inversion embedding (no emb_params, clip_l/clip_g or single tensor)")
        }
        var sets: [Int: [Float]] = [:]
        var count: Int?
        for key in keys {
            let info = file.info(key)!
            let shape = info.shape.count == 1 ? [1] + info.shape : info.shape
            guard shape.count == 2, shape[0] >= 1, shape[0] <= 75, shape[1] >= 1 else {
                throw EmbeddingError(url.path, "'\(key)' has shape \(info.shape); an embedding is [vectors ≤ 75, width]")
            }
            guard count == nil || count == shape[0] else {
                throw EmbeddingError(url.path, "clip_l and clip_g hold different numbers of vectors (\(count!) and \(shape[0]))")
            }
            guard sets[shape[1]] == nil else { throw EmbeddingError(url.path, "clip_l and clip_g are equally wide") }
            count = shape[0]
            let values = try file.floats(key)
            guard values.allSatisfy(\.isFinite) else { throw EmbeddingError(url.path, "'\(key)' holds non-finite values") }
            sets[shape[1]] = values
        }
        return Embedding(name: name, valuesByWidth: sets)
    }

    /// For a tokenizer: each embedding's name as tokens, longest first under each first token.
    func lookup(_ tokenizer: CLIPTokenizer) -> [Int32: [(ids: [Int32], embedding: Embedding)]] {
        var table: [Int32: [(ids: [Int32], embedding: Embedding)]] = [:]
        for embedding in embeddings.values {
            let ids = tokenizer.tokenize(embedding.name)
            guard let first = ids.first else { continue }
            table[first, default: []].append((ids, embedding))
        }
        for key in table.keys {
            table[key]!.sort { $0.ids.count != $1.ids.count ? $0.ids.count > $1.ids.count : $0.embedding.name < $1.embedding.name }
        }
        return table
    }
}

/// An embedding file sdgen cannot use, as one line.
public struct EmbeddingError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }

    /// Another reader's error, which names its file itself.
    init(describing error: any Error) { description = "\(error)" }
}
