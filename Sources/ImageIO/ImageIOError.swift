#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can go wrong reading or writing an image. Each case names
/// the path involved, and `description` is one line a user can act on, so the
/// command line prints it as is after `error: `.
public enum ImageIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The folder the file should go into does not exist.
    case directoryNotFound(path: String)
    /// Something on the way to the file is a file, not a folder.
    case notADirectory(path: String)
    /// The folder (or the file) does not allow this process to write (EACCES, EPERM).
    case permissionDenied(path: String)
    case readOnlyFileSystem(path: String)
    /// The target exists and overwriting was not allowed.
    case fileExists(path: String)
    /// No space left on the device (ENOSPC) or over the disk quota (EDQUOT).
    case diskFull(path: String)
    case fileNotFound(path: String)
    case notPNG(path: String)
    /// An input image that is neither PNG nor JPEG.
    case notAnImage(path: String)
    /// libjpeg rejected the file, or it is a JPEG sdgen does not read (too large).
    case corruptJPEG(path: String, detail: String)
    /// The file ends before the image does (for example an interrupted copy).
    case truncated(path: String)
    /// libpng rejected the file or the data; `detail` is its message.
    case corrupt(path: String, detail: String)
    /// The image itself is unusable (no pixels, a pixel count that does not match the size).
    case invalidImage(reason: String)
    /// A text chunk cannot be stored as PNG text.
    case invalidTextChunk(key: String, reason: String)
    case outOfMemory(path: String)
    /// Any other failing system call, with its errno; `operation` is worded
    /// to follow "cannot" ("read", "fsync").
    case systemError(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .directoryNotFound(let path):
            return "folder \(path) does not exist"
        case .notADirectory(let path):
            return "\(path) is not a folder (a part of the path is a file)"
        case .permissionDenied(let path):
            return "permission denied for \(path)"
        case .readOnlyFileSystem(let path):
            return "cannot write \(path): read-only file system"
        case .fileExists(let path):
            return "\(path) already exists (not overwriting it)"
        case .diskFull(let path):
            return "cannot write \(path): no space left on device"
        case .fileNotFound(let path):
            return "\(path) does not exist"
        case .notPNG(let path):
            return "\(path) is not a PNG file"
        case .notAnImage(let path):
            return "\(path) is not a PNG or JPEG image"
        case let .corruptJPEG(path, detail):
            return "\(path) is not a readable JPEG: \(detail)"
        case .truncated(let path):
            return "\(path) is truncated (the file ends before the image does)"
        case .corrupt(let path, let detail):
            return "\(path) is not a valid PNG: \(detail)"
        case .invalidImage(let reason):
            return "invalid image: \(reason)"
        case .invalidTextChunk(let key, let reason):
            return "cannot store text chunk '\(key)': \(reason)"
        case .outOfMemory(let path):
            return "out of memory while processing \(path)"
        case .systemError(let path, let operation, let code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        }
    }
}
