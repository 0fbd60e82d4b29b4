import Foundation

#if FUZZING
// Built by scripts/fuzz.sh with -sanitize=fuzzer,address: libFuzzer's driver
// runs the target SDGEN_FUZZ_TARGET names. (SwiftPM gives every executable
// its own entry point, so ours starts the driver rather than libFuzzer's main.)
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var target: FuzzTarget!

@main
struct Fuzz {
    static func main() {
        let name = ProcessInfo.processInfo.environment["SDGEN_FUZZ_TARGET"] ?? ""
        guard let found = FuzzTarget.named(name) else {
            FileHandle.standardError.write(Data("set SDGEN_FUZZ_TARGET to one of: \(FuzzTarget.all.map(\.name).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        target = found
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(withUnsafeMutablePointer(to: &argv) { argvPointer in
            LLVMFuzzerRunDriver(&argc, UnsafeMutablePointer(OpaquePointer(argvPointer))) { bytes, count in
                target.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
                return 0
            }
        })
    }
}
#else
/// Without the fuzzer: replays inputs through a target (a corpus, or a
/// crash libFuzzer saved), so a finding reproduces in an ordinary build.
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget.named(name) else {
            print("usage: sdgen-fuzz TARGET FILE|FOLDER...  (scripts/fuzz.sh fuzzes them)")
            for target in FuzzTarget.all { print("  \(target.name): \(target.input)") }
            exit(arguments.first == nil ? 0 : 2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                target.run(data)
                count += 1
            }
        }
        print("\(name): \(count) inputs, no crash")
    }
}
#endif
