import ModelFiles

/// Byte layouts of the quantised block formats, as ggml defines them (`ggml-common.h`):
///
/// - `Q8_0`: 32 weights = f16 scale `d` + 32 × int8 `q`;                 w = d · q           (34 bytes)
/// - `Q4_0`: 32 weights = f16 scale `d` + 16 bytes of nibbles;            w = d · (nibble − 8) (18 bytes)
///   byte j holds weight j in its low nibble and weight j + 16 in its high nibble.
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
    public static let all: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0]

    public static func isSupported(_ type: GGMLType) -> Bool { all.contains(type) }
}

/// Expands `count` elements of a row stored as `type` into Floats. `count` must be a multiple of the
/// type's block size (the GGUF reader has already checked row lengths).
public func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    switch type {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
    case .f16:
        for i in 0 ..< count { dst[i] = loadHalf(src, 2 * i) }
    case .bf16:
        for i in 0 ..< count { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    case .q8_0:
        for b in 0 ..< count / 32 {
            let block = src + b * Q8_0Block.size
            let d = loadHalf(block)
            let q = (block + 2).assumingMemoryBound(to: Int8.self)
            for i in 0 ..< 32 { dst[b * 32 + i] = d * Float(q[i]) }
        }
    case .q4_0:
        for b in 0 ..< count / 32 {
            let block = src + b * Q4_0Block.size
            let d = loadHalf(block)
            let q = (block + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0 ..< 16 {
                dst[b * 32 + j] = d * Float(Int(q[j] & 0x0F) - 8)
                dst[b * 32 + j + 16] = d * Float(Int(q[j] >> 4) - 8)
            }
        }
    default:
        preconditionFailure("dequantizeRow: \(type.name) is not a supported weight type")
    }
}
