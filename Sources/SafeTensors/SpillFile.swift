import Foundation

/// Tensors computed while a model loads (weights with LoRAs merged), kept in
/// an unlinked file in the temporary folder instead of anonymous memory, so
/// that — like the checkpoint's own mapped weights — their pages can leave
/// the process between stages (`releaseResidentPages`) and come back from
/// the page cache when next used. A model with a LoRA merged then holds no
/// more memory than one without. Each tensor is its own shared mapping,
/// alive as long as this object.
public final class SpillFile: @unchecked Sendable {
    private let descriptor: Int32
    private let lock = NSLock()
    private var length = 0
    private var regions: [(base: UnsafeMutableRawPointer, length: Int)] = []
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// nil when no file can be made there (a read-only or full temporary folder):
    /// callers then keep the tensors in ordinary memory.
    public init?(folder: URL = FileManager.default.temporaryDirectory) {
        var template = Array(folder.appendingPathComponent("sdgen-spill-XXXXXX").path.utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        descriptor = fd
    }

    deinit {
        for region in regions { munmap(region.base, region.length) }
        close(descriptor)
    }

    /// `byteCount` bytes in the file, mapped and filled by `write`; nil if the file cannot grow (disk full).
    public func store(byteCount: Int, _ write: (UnsafeMutableRawPointer) -> Void) -> UnsafeMutableRawPointer? {
        lock.withLock {
            let size = max(byteCount, 1)
            let rounded = (size + Self.pageSize - 1) / Self.pageSize * Self.pageSize
            let offset = length
            guard posix_fallocate(descriptor, off_t(offset), off_t(rounded)) == 0,
                  let mapped = mmap(nil, rounded, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, off_t(offset)),
                  mapped != MAP_FAILED else { return nil }
            write(mapped)
            // Written: the pages stay in the page cache, not in the process, until used.
            _ = madvise(mapped, rounded, MADV_DONTNEED)
            length += rounded
            regions.append((mapped, rounded))
            return mapped
        }
    }

    /// Drops the process's resident copy of every stored tensor (they stay
    /// in the page cache, written back to the file if memory runs short).
    public func releaseResidentPages() {
        lock.withLock {
            for region in regions { _ = madvise(region.base, region.length, MADV_DONTNEED) }
        }
    }
}
