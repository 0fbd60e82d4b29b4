import Foundation
import HubDownload
import XCTest

final class DownloadProgressTests: XCTestCase {
    func testTheLineShowsBytesRateAndTimeLeft() {
        var progress = DownloadProgress(totalBytes: 2_000_000_000)
        progress.skipped(500_000_000)   // already there: counts as done, not as speed
        for second in 0...10 { progress.transferred(second == 0 ? 0 : 40_000_000, at: 100 + Double(second)) }
        XCTAssertEqual(progress.completedBytes, 900_000_000)
        XCTAssertEqual(progress.rate(at: 110)!, 40_000_000, accuracy: 1)   // over the last 8 s
        XCTAssertEqual(progress.secondsLeft(at: 110)!, 27.5, accuracy: 0.01)
        XCTAssertEqual(progress.line(at: 110, file: "unet/diffusion_pytorch_model.fp16.safetensors", width: 200),
                       "[#########-----------]  45%  900 MB / 2.00 GB  40.0 MB/s  ETA 0:28  unet/diffusion_pytorch_model.fp16.safetensors")
        let narrow = progress.line(at: 110, file: "unet/diffusion_pytorch_model.fp16.safetensors", width: 80)
        XCTAssertEqual(narrow.count, 80)
        XCTAssertTrue(narrow.hasSuffix("ETA 0:28  …safetensors"), narrow)
        let medium = progress.line(at: 110, file: "unet/diffusion_pytorch_model.fp16.safetensors", width: 100)
        XCTAssertEqual(medium.count, 100)
        XCTAssertTrue(medium.hasSuffix("ETA 0:28  unet/…rch_model.fp16.safetensors"), medium)
    }

    func testBeforeASecondOfDataThereIsNoRate() {
        var progress = DownloadProgress(totalBytes: 1000)
        progress.transferred(10, at: 5)
        XCTAssertNil(progress.rate(at: 5.5))
        XCTAssertTrue(progress.line(at: 5.5, file: "a").contains("--- MB/s  ETA --:--"))
    }

    func testUnits() {
        XCTAssertEqual(DownloadProgress.bytes(999), "999 B")
        XCTAssertEqual(DownloadProgress.bytes(1_234), "1.23 kB")
        XCTAssertEqual(DownloadProgress.bytes(1_719_000_000), "1.72 GB")
        XCTAssertEqual(DownloadProgress.bytes(246_000_000), "246 MB")
        XCTAssertEqual(DownloadProgress.duration(7), "0:07")
        XCTAssertEqual(DownloadProgress.duration(754), "12:34")
        XCTAssertEqual(DownloadProgress.duration(3723), "1:02:03")
    }
}
