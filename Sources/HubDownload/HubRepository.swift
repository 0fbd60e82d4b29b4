/// A model repository on the Hugging Face Hub, named like `org/name`.
public struct HubRepository: Sendable, Hashable, CustomStringConvertible {
    /// The Stable Diffusion 1.5 diffusers repository.
    public static let stableDiffusion15 = HubRepository(validated: "stable-diffusion-v1-5/stable-diffusion-v1-5")

    public let id: String

    /// Accepts what the Hub accepts: an optional namespace and a name, each of
    /// letters, digits, `-`, `_` and `.`, neither starting nor ending with
    /// `-` or `.`, and no `--` or `..` (huggingface_hub's `validate_repo_id`).
    public init(_ id: String) throws(HubError) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy(Self.isValidComponent),
              !id.contains("--"), !id.contains("..") else {
            throw .invalidRepository(id)
        }
        self.id = id
    }

    private init(validated id: String) { self.id = id }

    /// The last part of the id: the default folder name under `weights/`.
    public var name: String { String(id.split(separator: "/").last ?? Substring(id)) }

    /// The repository's folder in the Hugging Face cache: `models--org--name`.
    public var cacheFolderName: String { "models--" + id.replacingOccurrences(of: "/", with: "--") }

    public var description: String { id }

    private static func isValidComponent(_ part: Substring) -> Bool {
        guard (1...96).contains(part.count), let first = part.first, let last = part.last,
              !"-.".contains(first), !"-.".contains(last) else { return false }
        return part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
