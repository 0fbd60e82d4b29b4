import CPNGShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that its path never holds a partial file: the content
/// goes to a hidden temporary file in the same folder (same file system, so
/// the rename is atomic), is fsync-ed, and is then renamed over the target.
/// An interrupted run leaves at most a `.<name>.<random>.tmp` file, never a
/// broken image under the real name; on any error the temporary file is removed.
/// A symbolic link is written through (the file it names is replaced, as a
/// shell's `>` would write it), and a target that is no regular file — a
/// device such as /dev/null, a FIFO — is written in place, not replaced.
public enum AtomicFile {
    /// `contents` writes the file's bytes to the descriptor it is given.
    /// With `overwrite` false an existing target is an error, checked
    /// race-free at the final rename (`RENAME_NOREPLACE`, or `link(2)` where
    /// the file system lacks it), not only up front.
    public static func write(to url: URL, overwrite: Bool,
                             contents: (Int32) throws(ImageIOError) -> Void) throws(ImageIOError) {
        guard !url.lastPathComponent.isEmpty, url.lastPathComponent != "/", !url.hasDirectoryPath else {
            throw .systemError(path: url.path, operation: "write", errno: EISDIR)
        }
        // Up front as well, so --no-overwrite fails before any work is done.
        var status = stat()
        if !overwrite, lstat(url.path, &status) == 0 { throw .fileExists(path: url.path) }
        let target = linkTarget(of: url) ?? url
        let path = target.path
        let directory = target.deletingLastPathComponent().path
        let name = target.lastPathComponent
        try checkDirectory(directory)
        if lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG, status.st_mode & S_IFMT != S_IFDIR {
            try writeInPlace(path: path, directory: directory, contents: contents)
            return
        }

        let (descriptor, temporaryPath) = try createTemporary(for: path, directory: directory, name: name)
        var isOpen = true
        var isRenamed = false
        defer {
            if isOpen { close(descriptor) }
            if !isRenamed { unlink(temporaryPath) }
        }

        try contents(descriptor)
        // Data on disk before the name points at it: otherwise a crash soon
        // after the rename can leave an empty file under the real name.
        guard fsync(descriptor) == 0 else {
            throw failure(errno, path: path, directory: directory, operation: "fsync")
        }
        isOpen = false
        // Some file systems (NFS) report failed writes only here.
        guard close(descriptor) == 0 else {
            throw failure(errno, path: path, directory: directory, operation: "close")
        }

        let renameError = overwrite ? (rename(temporaryPath, path) == 0 ? 0 : errno)
                                    : renameWithoutReplacing(temporaryPath, path)
        guard renameError == 0 else {
            throw failure(renameError, path: path, directory: directory, operation: "rename a file to")
        }
        isRenamed = true
        syncDirectory(directory)
    }

    /// Fails as `write(to:…)` would if the file cannot be created — no such
    /// folder, no permission, a read-only or special file system — without
    /// writing anything: so a run can refuse an unwritable output before its
    /// work rather than after it.
    public static func checkWritable(_ url: URL) throws(ImageIOError) {
        let target = linkTarget(of: url) ?? url
        let directory = target.deletingLastPathComponent().path
        try checkDirectory(directory)
        var status = stat()
        if lstat(target.path, &status) == 0, status.st_mode & S_IFMT != S_IFREG, status.st_mode & S_IFMT != S_IFDIR {
            return  // a device or FIFO, written in place
        }
        let (descriptor, temporaryPath) = try createTemporary(for: target.path, directory: directory,
                                                              name: target.lastPathComponent)
        close(descriptor)
        unlink(temporaryPath)
    }

    /// Opens a new hidden temporary file beside `path` (the folder is known to exist).
    private static func createTemporary(for path: String, directory: String,
                                        name: String) throws(ImageIOError) -> (Int32, String) {
        let temporaryPath = Self.temporaryPath(directory: directory, name: name)
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            let code = errno
            // The folder exists: ENOENT here is a file system that makes no files (/proc, /sys).
            if code == ENOENT { throw .systemError(path: directory, operation: "create files in", errno: code) }
            throw failure(code, path: path, directory: directory, operation: "create a file next to")
        }
        return (descriptor, temporaryPath)
    }

    /// Where a symbolic link at `url` points (followed to the end, or to the
    /// first name that does not exist yet); nil when `url` is no link.
    private static func linkTarget(of url: URL) -> URL? {
        var current = url
        var status = stat()
        for _ in 0..<40 {  // ELOOP's bound
            guard lstat(current.path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK,
                  let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current.path) else {
                return current == url ? nil : current
            }
            current = destination.hasPrefix("/") ? URL(fileURLWithPath: destination)
                : current.deletingLastPathComponent().appendingPathComponent(destination)
        }
        return current
    }

    /// A device or FIFO: opened and written, as `>` would; nothing to rename or fsync.
    private static func writeInPlace(path: String, directory: String,
                                     contents: (Int32) throws(ImageIOError) -> Void) throws(ImageIOError) {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(errno, path: path, directory: directory, operation: "open") }
        var isOpen = true
        defer { if isOpen { close(descriptor) } }
        try contents(descriptor)
        isOpen = false
        guard close(descriptor) == 0 else { throw failure(errno, path: path, directory: directory, operation: "close") }
    }

    /// Writes every byte to `descriptor` (retrying short writes and EINTR);
    /// returns 0 or the errno of the failure, for `failure(_:…)`.
    public static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            // Not expected from a regular file; avoid spinning.
            if written == 0 { return EIO }
            offset += written
        }
        return 0
    }

    /// A clear error for the usual mistakes (no such folder, a file in the
    /// way) before any file is created.
    private static func checkDirectory(_ directory: String) throws(ImageIOError) {
        var status = stat()
        guard stat(directory, &status) == 0 else {
            let code = errno
            switch code {
            case ENOENT: throw .directoryNotFound(path: directory)
            case ENOTDIR: throw .notADirectory(path: directory)
            case EACCES: throw .permissionDenied(path: directory)
            default: throw .systemError(path: directory, operation: "stat", errno: code)
            }
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw .notADirectory(path: directory) }
    }

    /// `.<name>.<random>.tmp`: hidden, unique, and recognisable as ours. A
    /// long name is cut so the temporary name stays within NAME_MAX (255 bytes).
    static func temporaryPath(directory: String, name: String) -> String {
        var stem = ""
        for character in name {
            if stem.utf8.count + character.utf8.count > 200 { break }
            stem.append(character)
        }
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let separator = directory.hasSuffix("/") ? "" : "/"
        return "\(directory)\(separator).\(stem).\(random).tmp"
    }

    /// Returns 0 or the errno of the failure; EEXIST when `to` exists.
    private static func renameWithoutReplacing(_ from: String, _ to: String) -> Int32 {
        if sdgen_rename_noreplace(from, to) == 0 { return 0 }
        let code = errno
        // Kernels or file systems without RENAME_NOREPLACE: link(2) also
        // fails atomically with EEXIST, and the temporary name is then dropped.
        guard code == EINVAL || code == ENOSYS || code == EOPNOTSUPP else { return code }
        if link(from, to) != 0 { return errno }
        unlink(from)
        return 0
    }

    /// Makes the rename itself durable. Best effort: the file is complete
    /// either way, and some file systems refuse fsync on a folder.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// The error a user understands for a failed write to `path` in `directory`.
    static func failure(_ code: Int32, path: String, directory: String,
                        operation: String) -> ImageIOError {
        switch code {
        case ENOENT: return .directoryNotFound(path: directory)
        case ENOTDIR: return .notADirectory(path: directory)
        case EACCES, EPERM: return .permissionDenied(path: path)
        case EROFS: return .readOnlyFileSystem(path: path)
        case EEXIST: return .fileExists(path: path)
        case ENOSPC, EDQUOT: return .diskFull(path: path)
        case ENOMEM: return .outOfMemory(path: path)
        default: return .systemError(path: path, operation: operation, errno: code)
        }
    }
}
