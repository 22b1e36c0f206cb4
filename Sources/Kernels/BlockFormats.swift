import ModelFiles

/// Byte layouts of the 32-weight block formats, as ggml defines them (`ggml-common.h`); the 256-weight
/// K-quants are in `KQuantFormats.swift`.
///
/// - `Q8_0`: f16 `d` + 32 × int8 `q`;                           w = d · q            (34 bytes)
/// - `Q4_0`: f16 `d` + 16 bytes of nibbles;                      w = d · (n − 8)      (18 bytes)
/// - `Q4_1`: f16 `d`, f16 `m` + 16 bytes of nibbles;             w = d · n + m        (20 bytes)
/// - `Q5_0`: f16 `d` + u32 high bits + 16 bytes of nibbles;      w = d · (n5 − 16)    (22 bytes)
/// - `Q5_1`: f16 `d`, f16 `m` + u32 high bits + 16 nibbles;      w = d · n5 + m       (24 bytes)
///
/// In every nibble format byte j holds weight j in its low nibble and weight j + 16 in its high nibble;
/// bit j of the 32-bit `qh` word is the fifth bit of weight j.
public enum Q8_0Block {
    public static let size = 34
    public static let count = 32
}

public enum Q4_0Block {
    public static let size = 18
    public static let count = 32
}

@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ byteOffset: Int = 0) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)))
}

@inline(__always)
func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Element types the engine can compute with. Everything else a GGUF may hold is rejected at model load
/// with the tensor's name and type.
public enum SupportedWeightType {
    public static let all: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    public static func isSupported(_ type: GGMLType) -> Bool { all.contains(type) }
}

/// Expands `count` elements of a row stored as `type` into Floats. `count` must be a multiple of the
/// type's block size (the GGUF reader has already checked row lengths).
public func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    switch type {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
    // The common types convert eight values per step with explicit SIMD: written as scalar loops they
    // compiled to one vcvtsi2ss + vmulss per weight, which made prefill's per-batch conversion of every
    // row cost ~40% of a short prompt.
    case .f16:
        let out = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= count {
            out.storeBytes(of: SIMD8<Float>(src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] = loadHalf(src, 2 * i); i += 1 }
    case .bf16:
        let out = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= count {
            let bits = SIMD8<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)) &<< 16
            out.storeBytes(of: unsafeBitCast(bits, to: SIMD8<Float>.self), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)); i += 1 }
    case .q8_0:
        let out = UnsafeMutableRawPointer(dst)
        for b in 0 ..< count / 32 {
            let block = src + b * Q8_0Block.size
            let d = SIMD8<Float>(repeating: loadHalf(block))
            for k in 0 ..< 4 {
                let q = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2 + 8 * k, as: SIMD8<Int8>.self))
                out.storeBytes(of: d * SIMD8<Float>(q), toByteOffset: 4 * (b * 32 + 8 * k), as: SIMD8<Float>.self)
            }
        }
    case .q4_0:
        let out = UnsafeMutableRawPointer(dst)
        for b in 0 ..< count / 32 {
            let block = src + b * Q4_0Block.size
            let d = SIMD8<Float>(repeating: loadHalf(block))
            for k in 0 ..< 2 {
                let bytes = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2 + 8 * k, as: SIMD8<UInt8>.self))
                let low = (bytes & 0x0F) &- 8
                let high = (bytes &>> 4) &- 8
                out.storeBytes(of: d * SIMD8<Float>(low), toByteOffset: 4 * (b * 32 + 8 * k), as: SIMD8<Float>.self)
                out.storeBytes(of: d * SIMD8<Float>(high), toByteOffset: 4 * (b * 32 + 16 + 8 * k), as: SIMD8<Float>.self)
            }
        }
    case .q4_1, .q5_0, .q5_1:
        let size = type.blockBytes
        for b in 0 ..< count / 32 {
            let block = src + b * size
            let d = loadHalf(block)
            let hasMin = type != .q5_0
            let m: Float = hasMin ? loadHalf(block, 2) : 0
            let headerBytes = hasMin ? 4 : 2
            let qh: UInt32 = type == .q4_1 ? 0 : block.loadUnaligned(fromByteOffset: headerBytes, as: UInt32.self).littleEndian
            let q = (block + (type == .q4_1 ? 4 : headerBytes + 4)).assumingMemoryBound(to: UInt8.self)
            for j in 0 ..< 16 {
                var lo = Int(q[j] & 0x0F), hi = Int(q[j] >> 4)
                if type != .q4_1 {
                    lo |= Int((qh >> UInt32(j)) & 1) << 4
                    hi |= Int((qh >> UInt32(j + 16)) & 1) << 4
                }
                if hasMin {
                    dst[b * 32 + j] = d * Float(lo) + m
                    dst[b * 32 + j + 16] = d * Float(hi) + m
                } else {
                    dst[b * 32 + j] = d * Float(lo - 16)
                    dst[b * 32 + j + 16] = d * Float(hi - 16)
                }
            }
        }
    case .q4_K, .q5_K, .q6_K:
        dequantizeKQuantRow(type, src, dst, count: count)
    default:
        preconditionFailure("dequantizeRow: \(type.name) is not a supported weight type")
    }
}
