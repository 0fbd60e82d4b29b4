import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on the download folder itself, held while a download
/// writes into it: two runs appending to the same `.part` would corrupt it.
/// The kernel drops the lock when the process ends, however it ends.
final class FolderLock {
    private var descriptor: Int32

    init(_ folder: URL) throws(HubError) {
        descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .fileSystem(folder.path, "open the folder", errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            descriptor = -1
            if code == EWOULDBLOCK { throw .folderBusy(path: folder.path) }
            throw .fileSystem(folder.path, "lock", errno: code)
        }
    }

    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
