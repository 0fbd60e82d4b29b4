import Foundation

/// Where a tiny autoencoder (TAESD) option points: `taesd` is weights/taesd
/// (what `sdgen download madebyollin/taesd` writes), anything else a diffusers
/// AutoencoderTiny folder. Shared by `generate --vae/--preview-every` and `serve --preview-vae`.
enum TinyAutoencoderFolder {
    static let downloaded = "taesd"

    /// The folder, or one error line naming `flag`.
    static func resolve(_ choice: String, flag: String) throws -> URL {
        let folder = URL(fileURLWithPath: choice == downloaded ? "weights/taesd" : choice)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            throw CommandFailure(choice == downloaded
                ? "no TAESD in weights/taesd (for \(flag)): get it with `sdgen download madebyollin/taesd`"
                : "\(flag) \(choice): no such folder")
        }
        guard isDirectory.boolValue else {
            throw CommandFailure("\(flag) \(choice): a single VAE file is not supported; give 'taesd' or an AutoencoderTiny folder")
        }
        return folder
    }
}
