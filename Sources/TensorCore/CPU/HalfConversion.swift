/// f32 ↔ f16 ↔ bf16. f16 goes through the F16C instructions (Float16's
/// conversions compile to vcvtph2ps/vcvtps2ph); bf16 is the top half of an
/// f32, rounded to nearest-even as torch does.
enum HalfConversion {
    static func convert(from source: UnsafeRawPointer, _ from: DType,
                        to destination: UnsafeMutableRawPointer, _ to: DType, range: Range<Int>) {
        switch (from, to) {
        case (.f32, .f32), (.f16, .f16), (.bf16, .bf16):
            (destination + range.lowerBound * to.byteSize).copyMemory(
                from: source + range.lowerBound * from.byteSize, byteCount: range.count * to.byteSize)
        case (.f16, .f32):
            let s = source.assumingMemoryBound(to: Float16.self)
            let d = destination.assumingMemoryBound(to: Float.self)
            for i in range { d[i] = Float(s[i]) }
        case (.f32, .f16):
            let s = source.assumingMemoryBound(to: Float.self)
            let d = destination.assumingMemoryBound(to: Float16.self)
            for i in range { d[i] = Float16(s[i]) }
        case (.bf16, .f32):
            let s = source.assumingMemoryBound(to: UInt16.self)
            let d = destination.assumingMemoryBound(to: UInt32.self)
            for i in range { d[i] = UInt32(s[i]) << 16 }
        case (.f32, .bf16):
            let s = source.assumingMemoryBound(to: Float.self)
            let d = destination.assumingMemoryBound(to: UInt16.self)
            for i in range { d[i] = bfloat16Bits(s[i]) }
        case (.f16, .bf16):
            let s = source.assumingMemoryBound(to: Float16.self)
            let d = destination.assumingMemoryBound(to: UInt16.self)
            for i in range { d[i] = bfloat16Bits(Float(s[i])) }
        case (.bf16, .f16):
            let s = source.assumingMemoryBound(to: UInt16.self)
            let d = destination.assumingMemoryBound(to: Float16.self)
            for i in range { d[i] = Float16(Float(bitPattern: UInt32(s[i]) << 16)) }
        }
    }

    @inline(__always) static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ roundingBias) >> 16)
    }
}

/// Element conversion on the host, for loaders that convert a checkpoint's
/// bytes before upload (so a GPU never holds both the stored and the
/// converted copy of a weight).
public enum ElementConversion {
    /// `count` elements of `from` at `source`, as little-endian bytes of `to`.
    public static func converted(_ source: UnsafeRawPointer, from: DType, to: DType, count: Int) -> [UInt8] {
        if Int(bitPattern: source) % 4 != 0 {
            // A mapped file's tensor may start anywhere: convert from an aligned copy.
            let aligned = UnsafeMutableRawPointer.allocate(byteCount: max(count * from.byteSize, 1), alignment: 64)
            defer { aligned.deallocate() }
            aligned.copyMemory(from: source, byteCount: count * from.byteSize)
            return converted(UnsafeRawPointer(aligned), from: from, to: to, count: count)
        }
        return [UInt8](unsafeUninitializedCapacity: count * to.byteSize) { buffer, initialized in
            if count > 0 {
                HalfConversion.convert(from: source, from, to: UnsafeMutableRawPointer(buffer.baseAddress!), to,
                                       range: 0..<count)
            }
            initialized = count * to.byteSize
        }
    }

    /// `count` elements of `from` at `source` (any alignment) as f32 values.
    public static func floats(_ source: UnsafeRawPointer, from: DType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { convert(source, from: from, into: buffer.baseAddress!, count: count) }
            initialized = count
        }
    }

    /// `count` f32 values written into `destination` (aligned to the element) as `dtype`.
    public static func convert(_ values: UnsafePointer<Float>, to dtype: DType, into destination: UnsafeMutableRawPointer,
                               count: Int) {
        HalfConversion.convert(from: UnsafeRawPointer(values), .f32, to: destination, dtype, range: 0..<count)
    }

    /// `count` elements of `from` at `source` (any alignment), converted into `destination` as f32.
    public static func convert(_ source: UnsafeRawPointer, from: DType, into destination: UnsafeMutablePointer<Float>,
                               count: Int) {
        guard Int(bitPattern: source) % 4 == 0 else {
            let aligned = UnsafeMutableRawPointer.allocate(byteCount: max(count * from.byteSize, 1), alignment: 64)
            defer { aligned.deallocate() }
            aligned.copyMemory(from: source, byteCount: count * from.byteSize)
            convert(UnsafeRawPointer(aligned), from: from, into: destination, count: count)
            return
        }
        HalfConversion.convert(from: source, from, to: UnsafeMutableRawPointer(destination), .f32, range: 0..<count)
    }
}
