import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file being assembled at `<destination>.part`: appended to and hashed as
/// it grows, and renamed to `destination` only once its size and digest match
/// the listing. An interrupted run leaves the `.part` for the next one to
/// resume (its bytes are hashed again first); a file that fails verification
/// is deleted, never renamed into place.
///
/// The part is never truncated in place, only unlinked and created anew: it
/// may be a hard link to a blob of the Hugging Face cache.
final class PartialFile {
    let destination: URL
    let entry: RepositoryEntry
    var partPath: String { destination.path + ".part" }
    /// Bytes in the part so far.
    private(set) var length: Int64 = 0
    private var descriptor: Int32 = -1
    private var hasher: StreamingHasher
    private static let chunkSize = 4 << 20

    /// Opens `<destination>.part` (creating its folder), keeping and hashing
    /// what an earlier run left there unless it is longer than the file (or
    /// `resume` is false).
    init(destination: URL, entry: RepositoryEntry, resume: Bool = true) throws(HubError) {
        self.destination = destination
        self.entry = entry
        hasher = StreamingHasher(for: entry.digest, size: entry.size)
        try Self.createDirectory(destination.deletingLastPathComponent())
        var status = stat()
        if resume, stat(partPath, &status) == 0, Int64(status.st_size) <= entry.size, (status.st_mode & S_IFMT) == S_IFREG {
            try hashExisting()
            try open(flags: O_WRONLY | O_APPEND)
        } else {
            try start()
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends bytes received for the file.
    func append(_ data: Data) throws(HubError) {
        guard length + Int64(data.count) <= entry.size else {
            let received = length + Int64(data.count)
            discard()
            throw .sizeMismatch(path: entry.path, expected: entry.size, actual: received)
        }
        var failure: HubError?
        data.withUnsafeBytes { bytes in
            do throws(HubError) { try write(bytes) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Drops what the part holds and starts it empty.
    func restart() throws(HubError) {
        discard()
        try start()
    }

    /// Makes the part a hard link to `source` (a file of the same content on
    /// the same file system costs no space), or else a copy of it.
    func fill(from source: URL) throws(HubError) {
        discard()
        let resolved = source.resolvingSymlinksInPath().path
        if link(resolved, partPath) == 0 {
            try hashExisting()
            try open(flags: O_WRONLY | O_APPEND)
            return
        }
        try start()
        let input = Glibc.open(resolved, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .fileSystem(resolved, "read", errno: errno) }
        defer { close(input) }
        try Self.readChunks(input, path: resolved) { (bytes) throws(HubError) in try write(bytes) }
    }

    /// Checks size and digest, then renames the part to the destination; a
    /// part that fails the check is deleted.
    func complete() throws(HubError) {
        guard length == entry.size else {
            discard()
            throw .sizeMismatch(path: entry.path, expected: entry.size, actual: length)
        }
        if let expected = entry.digest.expectedHex, let actual = hasher.finalize(), actual != expected {
            discard()
            throw .checksumMismatch(path: entry.path, expected: expected, actual: actual)
        }
        // On disk before the name points at it.
        guard fsync(descriptor) == 0 else { throw .fileSystem(partPath, "fsync", errno: errno) }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw .fileSystem(partPath, "close", errno: errno) }
        guard rename(partPath, destination.path) == 0 else {
            throw .fileSystem(destination.path, "rename the download to", errno: errno)
        }
        let folder = Glibc.open(destination.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// Closes and deletes the part.
    func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(partPath)
        length = 0
        hasher = StreamingHasher(for: entry.digest, size: entry.size)
    }

    /// Whether `url` already holds exactly the entry's bytes.
    static func matches(_ url: URL, _ entry: RepositoryEntry) -> Bool {
        var status = stat()
        guard stat(url.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
              Int64(status.st_size) == entry.size else { return false }
        guard let expected = entry.digest.expectedHex else { return true }
        let input = Glibc.open(url.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return false }
        defer { close(input) }
        var hasher = StreamingHasher(for: entry.digest, size: entry.size)
        do {
            try readChunks(input, path: url.path) { (bytes) throws(HubError) in hasher.update(bytes) }
        } catch {
            return false
        }
        return hasher.byteCount == entry.size && hasher.finalize() == expected
    }

    // MARK: Plumbing

    private func start() throws(HubError) {
        unlink(partPath)
        length = 0
        hasher = StreamingHasher(for: entry.digest, size: entry.size)
        try open(flags: O_WRONLY | O_APPEND | O_CREAT | O_EXCL)
    }

    private func open(flags: Int32) throws(HubError) {
        let opened = Glibc.open(partPath, flags | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw .fileSystem(partPath, "open", errno: errno) }
        descriptor = opened
    }

    private func hashExisting() throws(HubError) {
        length = 0
        hasher = StreamingHasher(for: entry.digest, size: entry.size)
        let input = Glibc.open(partPath, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .fileSystem(partPath, "read", errno: errno) }
        defer { close(input) }
        try Self.readChunks(input, path: partPath) { (bytes) throws(HubError) in
            hasher.update(bytes)
            length += Int64(bytes.count)
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws(HubError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .fileSystem(partPath, "write", errno: errno)
            }
            offset += written
        }
        hasher.update(bytes)
        length += Int64(bytes.count)
    }

    private static func readChunks(_ descriptor: Int32, path: String,
                                   _ body: (UnsafeRawBufferPointer) throws(HubError) -> Void) throws(HubError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw .fileSystem(path, "read", errno: errno)
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func createDirectory(_ url: URL) throws(HubError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: url.path, operation: "create the folder", reason: "\(error.localizedDescription)")
        }
    }
}
