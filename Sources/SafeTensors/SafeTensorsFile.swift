import Foundation
import TensorCore

/// One entry of a safetensors header.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: StoredDType
    public let shape: [Int]
    /// Byte range inside the data section (after the header).
    public let dataRange: Range<Int>

    public var count: Int { shape.reduce(1, *) }

    /// Block `part` of `parts` equal blocks of rows (first dimension): one
    /// of the matrices a fused tensor stacks, such as q, k and v in
    /// OpenCLIP's `in_proj_weight`. Rows are contiguous, so the block is a
    /// narrower byte range of the same tensor; nil when the rows do not
    /// divide evenly.
    public func rowBlock(_ part: Int, of parts: Int) -> TensorInfo? {
        guard let rows = shape.first, parts > 0, rows % parts == 0, (0..<parts).contains(part) else { return nil }
        let blockBytes = dataRange.count / parts
        let start = dataRange.lowerBound + part * blockBytes
        return TensorInfo(name: name, dtype: dtype, shape: [rows / parts] + shape.dropFirst(),
                          dataRange: start..<start + blockBytes)
    }
}

/// A memory-mapped safetensors file. The whole header is validated before any
/// tensor is touched: well-formed JSON, known dtypes, byte sizes equal to
/// dtype × shape, offsets inside the file and not overlapping.
public final class SafeTensorsFile: @unchecked Sendable {
    public let url: URL
    public let metadata: [String: String]
    public let tensors: [String: TensorInfo]

    private let base: UnsafeMutableRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Headers beyond this are not checkpoints but corruption (real ones are
    /// well under 1 MB even for SDXL).
    static let maximumHeaderLength = 100 << 20

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        func fail(_ problem: String) -> SafeTensorsError { SafeTensorsError(path: path, problem: problem) }

        var status = stat()
        guard stat(path, &status) == 0 else {
            throw fail(errno == ENOENT ? "no such file" : "cannot read (\(String(cString: strerror(errno))))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(status.st_size)
        guard size > 0 else { throw fail("empty file (0 bytes)") }
        guard size >= 8 else { throw fail("truncated: \(size) bytes, shorter than the 8-byte header length") }

        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fail("cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        // Private and writable: pages are shared with the page cache until
        // written, and sdgen never writes weights, so f32 tensors can alias them.
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0),
              mapped != MAP_FAILED else {
            throw fail("cannot map into memory (\(String(cString: strerror(errno))))")
        }
        base = mapped
        mappedLength = size

        do {
            // Read as the file says, unsigned; a length past Int's range is no safetensors file.
            let declared = UInt64(littleEndian: mapped.loadUnaligned(as: UInt64.self))
            guard let headerLength = Int(exactly: declared), headerLength > 1,
                  headerLength <= Self.maximumHeaderLength else {
                throw fail("header length \(declared) is not plausible; not a safetensors file?")
            }
            guard 8 + headerLength <= size else {
                throw fail("truncated: header says \(headerLength) bytes but the file has \(size - 8) after the length")
            }
            dataStart = 8 + headerLength
            let headerBytes = Data(bytes: mapped + 8, count: headerLength)
            let parsed = try Self.parseHeader(headerBytes, dataLength: size - dataStart, fail: fail)
            metadata = parsed.metadata
            tensors = parsed.tensors
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    public convenience init(path: String) throws {
        try self.init(url: URL(fileURLWithPath: path))
    }

    deinit { munmap(base, mappedLength) }

    /// Drops this process's resident copy of the mapped pages. Tensors that
    /// alias the file fault theirs back in from the page cache when next
    /// read; the pages of tensors that were converted or permuted into
    /// memory of their own (f16 → f32, conv kernels) stop counting against
    /// the process, which otherwise holds those weights twice. Values never
    /// change: sdgen does not write to the mapping.
    public func releaseResidentPages() {
        _ = madvise(base, mappedLength, MADV_DONTNEED)
    }

    /// `releaseResidentPages()` for one tensor's pages (and the pages it
    /// shares with its neighbours, which come back just as well): once it
    /// has been read into memory of its own.
    public func releaseResidentPages(of name: String) {
        guard let entry = tensors[name], !entry.dataRange.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (dataStart + entry.dataRange.lowerBound) / page * page
        let end = min(mappedLength, dataStart + entry.dataRange.upperBound)
        _ = madvise(base + start, end - start, MADV_DONTNEED)
    }

    /// Tensor names in file order of their data.
    public var names: [String] { tensors.values.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }.map(\.name) }

    public func info(_ name: String) -> TensorInfo? { tensors[name] }

    /// The raw little-endian bytes of a tensor, valid while this file lives.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        try bytes(of: try require(name))
    }

    /// The raw bytes of an entry of this file (or a row block of one).
    public func bytes(of entry: TensorInfo) throws -> UnsafeRawBufferPointer {
        try checkBelongs(entry)
        return UnsafeRawBufferPointer(start: base + dataStart + entry.dataRange.lowerBound, count: entry.dataRange.count)
    }

    /// A tensor on `backend`, converted to `dtype` (default: as stored). f32
    /// data headed for the CPU is not copied: the tensor aliases the mapping
    /// and keeps this file alive.
    public func tensor(_ name: String, on backend: any Backend, as dtype: DType? = nil) throws -> Tensor {
        try tensor(try require(name), on: backend, as: dtype)
    }

    /// `tensor(_:on:as:)` for an entry of this file or a row block of one.
    public func tensor(_ entry: TensorInfo, on backend: any Backend, as dtype: DType? = nil) throws -> Tensor {
        try checkBelongs(entry)
        let name = entry.name
        guard let stored = entry.dtype.tensorDType else {
            throw SafeTensorsError(path: url.path, problem: "tensor '\(name)' has dtype \(entry.dtype.rawValue), not a float type")
        }
        let target = dtype ?? stored
        let pointer = base + dataStart + entry.dataRange.lowerBound
        if stored == target, let cpu = backend as? CPUBackend, Int(bitPattern: pointer) % target.byteSize == 0 {
            return cpu.wrap(pointer, shape: entry.shape, dtype: target, owner: self)
        }
        if stored != target && !(backend is CPUBackend) {
            // Convert on the host: a GPU then never holds the stored copy too.
            let bytes = ElementConversion.converted(UnsafeRawPointer(pointer), from: stored, to: target, count: entry.count)
            return bytes.withUnsafeBytes { backend.upload(bytes: $0, shape: entry.shape, dtype: target) }
        }
        let raw = backend.upload(bytes: UnsafeRawBufferPointer(start: pointer, count: entry.dataRange.count),
                                 shape: entry.shape, dtype: stored)
        return raw.converted(to: target)
    }

    /// A float tensor's values as f32 on the host.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try require(name)
        let pointer = UnsafeRawPointer(base + dataStart + entry.dataRange.lowerBound)
        switch entry.dtype {
        case .f32: return (0..<entry.count).map { pointer.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .f64: return (0..<entry.count).map { Float(pointer.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
        case .f16: return (0..<entry.count).map { Float(pointer.loadUnaligned(fromByteOffset: $0 * 2, as: Float16.self)) }
        case .bf16:
            return (0..<entry.count).map {
                Float(bitPattern: UInt32(pointer.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
            }
        default:
            throw SafeTensorsError(path: url.path, problem: "tensor '\(name)' has dtype \(entry.dtype.rawValue), not a float type")
        }
    }

    /// An integer tensor's values (ids, position ids).
    public func integers(_ name: String) throws -> [Int64] {
        let entry = try require(name)
        let pointer = UnsafeRawPointer(base + dataStart + entry.dataRange.lowerBound)
        switch entry.dtype {
        case .i64: return (0..<entry.count).map { pointer.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        case .i32: return (0..<entry.count).map { Int64(pointer.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .u8, .bool: return (0..<entry.count).map { Int64(pointer.load(fromByteOffset: $0, as: UInt8.self)) }
        default:
            throw SafeTensorsError(path: url.path, problem: "tensor '\(name)' has dtype \(entry.dtype.rawValue), not an integer type")
        }
    }

    /// An entry handed back must lie inside this file's tensor of its name.
    private func checkBelongs(_ entry: TensorInfo) throws {
        guard let whole = tensors[entry.name], whole.dtype == entry.dtype,
              whole.dataRange.lowerBound <= entry.dataRange.lowerBound,
              entry.dataRange.upperBound <= whole.dataRange.upperBound else {
            throw SafeTensorsError(path: url.path, problem: "no tensor '\(entry.name)' with bytes \(entry.dataRange)")
        }
    }

    private func require(_ name: String) throws -> TensorInfo {
        guard let entry = tensors[name] else {
            throw SafeTensorsError(path: url.path, problem: "no tensor named '\(name)'")
        }
        return entry
    }

    private static func parseHeader(_ data: Data, dataLength: Int,
                                    fail: (String) -> SafeTensorsError)
        throws -> (metadata: [String: String], tensors: [String: TensorInfo]) {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, item) in entries {
                    guard let text = item as? String else { throw fail("__metadata__ value for '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("entry '\(name)' is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            guard let dtype = StoredDType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unknown dtype '\(dtypeName)'")
            }
            guard let shapeValues = entry["shape"] as? [Any],
                  let shape = integerList(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)' has a malformed shape")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any],
                  let offsets = integerList(offsetValues), offsets.count == 2 else {
                throw fail("tensor '\(name)' has malformed data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw fail("tensor '\(name)' data [\(begin), \(end)) lies outside the \(dataLength)-byte data section (truncated file?)")
            }
            var expected = dtype.byteSize
            for dim in shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw fail("tensor '\(name)' shape \(shape) is too large") }
                expected = product
            }
            guard end - begin == expected else {
                throw fail("tensor '\(name)' has \(end - begin) bytes but \(dtypeName) \(shape) needs \(expected)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
        }

        let ordered = tensors.values.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }
        for (previous, next) in zip(ordered, ordered.dropFirst())
            where next.dataRange.lowerBound < previous.dataRange.upperBound {
            throw fail("tensors '\(previous.name)' and '\(next.name)' overlap")
        }
        return (metadata, tensors)
    }

    private static func integerList(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            // JSONSerialization gives NSNumber; reject fractions and booleans.
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }
}
