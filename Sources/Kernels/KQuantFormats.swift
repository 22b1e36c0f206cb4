import ModelFiles

/// The 256-weight "K-quant" super-block formats (`ggml-common.h`), used by llama.cpp's `_K_M` / `_K_S` files:
///
/// - `Q4_K` (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of packed 6-bit (scale, min) pairs for 8 sub-blocks
///   of 32, 128 bytes of nibbles.                               w = d·sc·n − dmin·m
/// - `Q5_K` (176 bytes): as Q4_K plus 32 bytes of fifth bits.   w = d·sc·n5 − dmin·m
/// - `Q6_K` (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per 16
///   weights), f16 `d`.                                         w = d·sc·(n6 − 32)
///
/// Nibble order: each 64-weight chunk uses 32 bytes, low nibbles for its first 32 weights and high
/// nibbles for the next 32. Float operations follow the `gguf` package's order so results are bit-exact.
enum KQuant {
    /// 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes.
    @inline(__always)
    static func scaleMin(_ packed: UnsafePointer<UInt8>, _ j: Int) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (packed[j] & 63, packed[j + 4] & 63)
        }
        return ((packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4),
                (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4))
    }

    /// The 32 unsigned quant values of sub-block `j` of a Q4_K/Q5_K block, into `out`.
    @inline(__always)
    static func subBlock(fifthBit: Bool, _ block: UnsafeRawPointer, _ j: Int, _ out: UnsafeMutablePointer<Int32>) {
        let chunk = j / 2
        let high = j % 2 == 1
        if !fifthBit {
            let q = (block + 16 + chunk * 32).assumingMemoryBound(to: UInt8.self)
            for l in 0 ..< 32 { out[l] = Int32(high ? q[l] >> 4 : q[l] & 0x0F) }
        } else {
            let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
            let q = (block + 48 + chunk * 32).assumingMemoryBound(to: UInt8.self)
            for l in 0 ..< 32 {
                let low = Int32(high ? q[l] >> 4 : q[l] & 0x0F)
                out[l] = low | Int32((qh[l] >> UInt8(j)) & 1) << 4
            }
        }
    }

    /// Walks the eight 32-weight sub-blocks of one Q4_K/Q5_K block: `body(j, scale, offset)` runs with
    /// sub-block j's unsigned values in `q` and w = scale · n − offset (scale = d·sc, offset = dmin·m).
    @inline(__always)
    static func forEachSubBlock(fifthBit: Bool, _ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>,
                                _ body: (_ j: Int, _ scale: Float, _ offset: Float) -> Void) {
        let d = loadHalf(block)
        let dmin = loadHalf(block, 2)
        let packed = (block + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0 ..< 8 {
            let (sc, m) = scaleMin(packed, j)
            subBlock(fifthBit: fifthBit, block, j, q)
            body(j, d * Float(sc), dmin * Float(m))
        }
    }

    /// The 32 signed values (n6 − 32) of 32-weight group `g` (0..<8) of a Q6_K block, into `out`.
    @inline(__always)
    static func q6Group(_ block: UnsafeRawPointer, _ g: Int, _ out: UnsafeMutablePointer<Int32>) {
        let half = g / 4          // which 128-weight half
        let quarter = g % 4       // position within the half: 0..3 → ql offset 0/32, low/high nibble
        let ql = (block + half * 64 + (quarter % 2) * 32).assumingMemoryBound(to: UInt8.self)
        let qh = (block + 128 + half * 32).assumingMemoryBound(to: UInt8.self)
        let highNibble = quarter >= 2
        let shift = UInt8(2 * quarter)
        for l in 0 ..< 32 {
            let low = Int32(highNibble ? ql[l] >> 4 : ql[l] & 0x0F)
            out[l] = (low | Int32((qh[l] >> shift) & 3) << 4) - 32
        }
    }
}

func dequantizeKQuantRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { buffer in
        guard let q = buffer.baseAddress else { return }
        for b in 0 ..< count / 256 {
            let block = src + b * type.blockBytes
            let y = dst + b * 256
            if type == .q6_K {
                let d = loadHalf(block, 208)
                let scales = (block + 192).assumingMemoryBound(to: Int8.self)
                for g in 0 ..< 8 {
                    KQuant.q6Group(block, g, q)
                    let d0 = d * Float(scales[2 * g])
                    let d1 = d * Float(scales[2 * g + 1])
                    for l in 0 ..< 16 { y[g * 32 + l] = d0 * Float(q[l]) }
                    for l in 16 ..< 32 { y[g * 32 + l] = d1 * Float(q[l]) }
                }
            } else {
                KQuant.forEachSubBlock(fifthBit: type == .q5_K, block, q) { j, scale, offset in
                    for l in 0 ..< 32 { y[j * 32 + l] = scale * Float(q[l]) - offset }
                }
            }
        }
    }
}
