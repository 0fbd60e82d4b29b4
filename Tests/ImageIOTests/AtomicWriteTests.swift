import Foundation
import ImageIO
import XCTest

/// The write path's promises: the target holds a complete file or nothing
/// new, no temporary file survives a failure, and each failure is one clear
/// error naming the path.
final class AtomicWriteTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    let image = try! RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 200, count: 48))

    func testNoOverwriteKeepsTheExistingFile() throws {
        let url = directory.file("out.png")
        try Data("precious".utf8).write(to: url)
        XCTAssertThrowsError(try PNGFile.write(image, to: url, overwrite: false)) { error in
            XCTAssertEqual(error as? ImageIOError, .fileExists(path: url.path))
            XCTAssertEqual("\(error)", "\(url.path) already exists (not overwriting it)")
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("precious".utf8))
        XCTAssertEqual(try directory.contents(), ["out.png"])
        // A dangling symlink is an existing name too.
        let link = directory.file("link.png")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/nonexistent/target")
        XCTAssertThrowsError(try PNGFile.write(image, to: link, overwrite: false)) {
            XCTAssertEqual($0 as? ImageIOError, .fileExists(path: link.path))
        }
    }

    func testNoOverwriteWritesANewFile() throws {
        let url = directory.file("new.png")
        try PNGFile.write(image, to: url, overwrite: false)
        XCTAssertEqual(try PNGFile.read(at: url).image, image)
    }

    /// The race the up-front check cannot see: the target appears while the
    /// image is being written. The final no-replace rename must still refuse.
    func testNoOverwriteIsCheckedAtTheRename() throws {
        let url = directory.file("race.png")
        XCTAssertThrowsError(try AtomicFile.write(to: url, overwrite: false) { descriptor throws(ImageIOError) in
            _ = Glibc.write(descriptor, "new", 3)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data("other".utf8))
        }) { error in
            XCTAssertEqual(error as? ImageIOError, .fileExists(path: url.path))
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("other".utf8))
        XCTAssertEqual(try directory.contents(), ["race.png"], "temporary file removed")
    }

    func testTemporaryFileRemovedWhenWritingFails() throws {
        let url = directory.file("out.png")
        var temporaryName: String?
        XCTAssertThrowsError(try AtomicFile.write(to: url, overwrite: true) { descriptor throws(ImageIOError) in
            temporaryName = try? self.directory.contents().first
            throw .diskFull(path: url.path)
        })
        XCTAssertNotNil(temporaryName)
        XCTAssertTrue(temporaryName!.hasPrefix(".out.png."), temporaryName!)
        XCTAssertTrue(temporaryName!.hasSuffix(".tmp"), temporaryName!)
        XCTAssertEqual(try directory.contents(), [])
    }

    /// A link is written through, as the shell's `>` writes it: the file it
    /// names gets the image and the link stays a link (replacing it broke
    /// `-o ~/latest.png` pointing into a gallery); a chain of links, a relative
    /// one and a dangling one (which makes its file) alike.
    func testSymbolicLinksAreWrittenThrough() throws {
        let gallery = directory.file("gallery")
        try FileManager.default.createDirectory(at: gallery, withIntermediateDirectories: true)
        let file = gallery.appendingPathComponent("image.png")
        try Data("old".utf8).write(to: file)
        let link = directory.file("latest.png"), chain = directory.file("chain.png")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "gallery/image.png")
        try FileManager.default.createSymbolicLink(atPath: chain.path, withDestinationPath: link.path)
        for name in [link, chain] {
            try PNGFile.write(image, to: name)
            XCTAssertEqual(try PNGFile.read(at: file).image, image)
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: name.path),
                           name == link ? "gallery/image.png" : link.path)
            try Data("old".utf8).write(to: file)
        }
        let dangling = directory.file("dangling.png")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "gallery/new.png")
        try PNGFile.write(image, to: dangling)
        XCTAssertEqual(try PNGFile.read(at: gallery.appendingPathComponent("new.png")).image, image)
        XCTAssertEqual(try Set(directory.contents()), ["gallery", "latest.png", "chain.png", "dangling.png"])
    }

    /// A device is written, not replaced: `-o /dev/null` (run as root, the
    /// rename made /dev/null a regular file holding a PNG).
    func testDevicesAreWrittenInPlace() throws {
        try PNGFile.write(image, to: URL(fileURLWithPath: "/dev/null"))
        var status = stat()
        XCTAssertEqual(stat("/dev/null", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
        XCTAssertThrowsError(try PNGFile.write(image, to: URL(fileURLWithPath: "/dev/full"))) {
            XCTAssertEqual($0 as? ImageIOError, .diskFull(path: "/dev/full"))
        }
        XCTAssertEqual(stat("/dev/full", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "/dev/full is still a device")
    }

    /// A name near NAME_MAX (255 bytes) still gets a temporary name that fits.
    func testLongFileName() throws {
        let url = directory.file(String(repeating: "é", count: 123) + ".png")  // 250 bytes
        try PNGFile.write(image, to: url)
        XCTAssertEqual(try PNGFile.read(at: url).image, image)
    }

    func testMissingFolder() throws {
        let folder = directory.file("no-such-folder")
        let url = folder.appendingPathComponent("out.png")
        XCTAssertThrowsError(try PNGFile.write(image, to: url)) { error in
            XCTAssertEqual(error as? ImageIOError, .directoryNotFound(path: folder.path))
            XCTAssertEqual("\(error)", "folder \(folder.path) does not exist")
        }
    }

    func testFolderIsAFile() throws {
        let file = directory.file("regular-file")
        try Data("x".utf8).write(to: file)
        let url = file.appendingPathComponent("out.png")
        XCTAssertThrowsError(try PNGFile.write(image, to: url)) { error in
            XCTAssertEqual(error as? ImageIOError, .notADirectory(path: file.path))
        }
        let deeper = file.appendingPathComponent("sub").appendingPathComponent("out.png")
        XCTAssertThrowsError(try PNGFile.write(image, to: deeper)) { error in
            guard case ImageIOError.notADirectory = error else { return XCTFail("\(error)") }
        }
    }

    /// A read-only folder; as root (where the mode bits do not stop writes)
    /// a sysfs folder, which refuses new files even to root.
    func testUnwritableFolder() throws {
        let folder = directory.file("read-only")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.path)
        var target = folder.appendingPathComponent("out.png")
        if access(folder.path, W_OK) == 0 {
            var status = stat()
            guard stat("/sys/kernel", &status) == 0 else {
                throw XCTSkip("running as root without /sys: no folder refuses writes")
            }
            target = URL(fileURLWithPath: "/sys/kernel/sdgen-test.png")
        }
        XCTAssertThrowsError(try PNGFile.write(image, to: target)) { error in
            XCTAssertEqual(error as? ImageIOError, .permissionDenied(path: target.path))
            XCTAssertEqual("\(error)", "permission denied for \(target.path)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    /// `checkWritable` fails as the write would, leaves nothing behind, and
    /// tells a folder that makes no files (procfs) from a missing one.
    func testCheckWritableBeforeAnyWork() throws {
        let good = directory.file("out.png")
        XCTAssertNoThrow(try AtomicFile.checkWritable(good))
        XCTAssertEqual(try directory.contents(), [], "the probe left a file")
        let missing = directory.file("no-such-folder")
        XCTAssertThrowsError(try AtomicFile.checkWritable(missing.appendingPathComponent("out.png"))) {
            XCTAssertEqual($0 as? ImageIOError, .directoryNotFound(path: missing.path))
        }
        var status = stat()
        guard stat("/proc/self", &status) == 0 else { throw XCTSkip("no /proc") }
        XCTAssertThrowsError(try AtomicFile.checkWritable(URL(fileURLWithPath: "/proc/sdgen-test.png"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot create files in /proc"), "\(error)")
        }
    }

    /// ENOSPC on a 64 KiB tmpfs, mounted for the test where the process may
    /// mount (root); elsewhere skipped — the mapping ENOSPC → `.diskFull` is
    /// then covered only by reading the code.
    func testDiskFull() throws {
        let mountPoint = directory.file("tiny-fs")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: false)
        guard getuid() == 0, run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "sdgen-test", mountPoint.path]) else {
            throw XCTSkip("cannot mount a small tmpfs here (needs root): disk-full path untested")
        }
        defer { _ = run("/bin/umount", ["-l", mountPoint.path]) }

        // Noise does not compress: about 190 KiB of PNG for 64 KiB of space.
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(256 * 256 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let noise = try RGBImage(width: 256, height: 256, pixels: pixels)
        let url = mountPoint.appendingPathComponent("out.png")
        XCTAssertThrowsError(try PNGFile.write(noise, to: url)) { error in
            XCTAssertEqual(error as? ImageIOError, .diskFull(path: url.path))
            XCTAssertEqual("\(error)", "cannot write \(url.path): no space left on device")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path), [],
                       "neither the image nor the temporary file is left")
    }

    private func run(_ executable: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: executable) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
