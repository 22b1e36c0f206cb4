import ModelFiles

/// Float rows → stored blocks, for `qwentty quantize` (llama-quantize's job).
///
/// The 32-weight formats follow the `gguf` package's reference quantisers operation for operation, so
/// their bytes are identical to gguf-py's (tested). The K-quants use plain round-to-nearest with one
/// scale/min per sub-block (llama.cpp searches scales iteratively and gets a little lower error).
public enum Quantizer {
    /// Types `quantize` can write.
    public static let writableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// The type llama.cpp falls back to when a row length is not a multiple of 256 (a K-quant's block).
    public static func fallback(for type: GGMLType) -> GGMLType {
        switch type {
        case .q4_K: return .q5_0
        case .q5_K: return .q5_1
        case .q6_K: return .q8_0
        default: return type
        }
    }

    /// The type a matrix with rows of `rowLength` is written in when `target` is asked for: the target,
    /// else llama.cpp's fallback when the row does not fill its blocks, else F16.
    public static func type(for target: GGMLType, rowLength: Int) -> GGMLType {
        for candidate in [target, fallback(for: target)] where rowLength % candidate.blockSize == 0 { return candidate }
        return .f16
    }

    /// Quantises `count` Floats (a multiple of the type's block size) into `dst`.
    public static func quantizeRow(_ type: GGMLType, _ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        switch type {
        case .f32:
            dst.copyMemory(from: x, byteCount: 4 * count)
        case .f16:
            for i in 0 ..< count { dst.storeBytes(of: Float16(x[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0 ..< count { dst.storeBytes(of: bf16Bits(x[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in 0 ..< count / 32 { q8_0(x + 32 * b, dst + 34 * b) }
        case .q4_0, .q5_0:
            for b in 0 ..< count / 32 { symmetric(type, x + 32 * b, dst + type.blockBytes * b) }
        case .q4_1, .q5_1:
            for b in 0 ..< count / 32 { withMinimum(type, x + 32 * b, dst + type.blockBytes * b) }
        case .q4_K, .q5_K:
            for b in 0 ..< count / 256 { kQuant45(type, x + 256 * b, dst + type.blockBytes * b) }
        case .q6_K:
            for b in 0 ..< count / 256 { kQuant6(x + 256 * b, dst + 210 * b) }
        default:
            preconditionFailure("quantizeRow: cannot write \(type.name)")
        }
    }

    /// Round-to-nearest-even truncation to bfloat16 (NaN kept quiet), as PyTorch and gguf-py do.
    static func bf16Bits(_ v: Float) -> UInt16 {
        let bits = v.bitPattern
        if v.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 64) }
        let rounded = bits &+ (0x7FFF &+ ((bits >> 16) & 1))
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    private static func q8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for i in 0 ..< 32 { amax = max(amax, abs(x[i])) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        out.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
        for i in 0 ..< 32 {
            out.storeBytes(of: Int8((x[i] * id).rounded()), toByteOffset: 2 + i, as: Int8.self)
        }
    }

    /// Q4_0 / Q5_0: d = (value of largest magnitude) / −2^(bits−1); q = trunc(x/d + 2^(bits−1) + ½).
    private static func symmetric(_ type: GGMLType, _ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let five = type == .q5_0
        var extreme: Float = 0
        for i in 0 ..< 32 where abs(x[i]) > abs(extreme) { extreme = x[i] }
        let d = extreme / (five ? -16 : -8)
        let id: Float = d == 0 ? 0 : 1 / d
        let bias: Float = five ? 16.5 : 8.5
        let top: Float = five ? 31 : 15
        var q = [UInt8](repeating: 0, count: 32)
        for i in 0 ..< 32 { q[i] = UInt8(min(top, max(0, (x[i] * id + bias).rounded(.towardZero)))) }
        out.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
        packNibbles(q, into: out + (five ? 6 : 2))
        if five { out.storeBytes(of: highBits(q).littleEndian, toByteOffset: 2, as: UInt32.self) }
    }

    /// Q4_1 / Q5_1: d = (max − min) / (2^bits − 1); q = trunc((x − min)/d + ½); stores d and min.
    private static func withMinimum(_ type: GGMLType, _ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let five = type == .q5_1
        var lo = x[0], hi = x[0]
        for i in 1 ..< 32 { lo = min(lo, x[i]); hi = max(hi, x[i]) }
        let d = (hi - lo) / (five ? 31 : 15)
        let id: Float = d == 0 ? 0 : 1 / d
        let top: Float = five ? 31 : 15
        var q = [UInt8](repeating: 0, count: 32)
        for i in 0 ..< 32 { q[i] = UInt8(min(top, max(0, ((x[i] - lo) * id + 0.5).rounded(.towardZero)))) }
        out.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
        out.storeBytes(of: Float16(lo).bitPattern, toByteOffset: 2, as: UInt16.self)
        packNibbles(q, into: out + (five ? 8 : 4))
        if five { out.storeBytes(of: highBits(q).littleEndian, toByteOffset: 4, as: UInt32.self) }
    }

    private static func packNibbles(_ q: [UInt8], into out: UnsafeMutableRawPointer) {
        for j in 0 ..< 16 { out.storeBytes(of: (q[j] & 0x0F) | (q[j + 16] << 4), toByteOffset: j, as: UInt8.self) }
    }

    private static func highBits(_ q: [UInt8]) -> UInt32 {
        var bits: UInt32 = 0
        for j in 0 ..< 32 where q[j] & 0x10 != 0 { bits |= 1 << UInt32(j) }
        return bits
    }

    /// Q4_K / Q5_K: per 32-weight sub-block w ≈ scale·n − min with n in 0…2^bits − 1; the eight scales
    /// and mins are stored as 6-bit multiples of a per-block f16 `d` and `dmin`.
    private static func kQuant45(_ type: GGMLType, _ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let five = type == .q5_K
        let top: Float = five ? 31 : 15
        var scale = [Float](repeating: 0, count: 8), minimum = [Float](repeating: 0, count: 8)
        for j in 0 ..< 8 {
            var lo: Float = 0, hi = x[32 * j]
            for l in 0 ..< 32 { lo = min(lo, x[32 * j + l]); hi = max(hi, x[32 * j + l]) }
            scale[j] = (hi - lo) / top
            minimum[j] = -lo
        }
        let d = Float16((scale.max() ?? 0) / 63), dmin = Float16((minimum.max() ?? 0) / 63)
        let df = Float(d), dmf = Float(dmin)
        var sc = [UInt8](repeating: 0, count: 8), m = [UInt8](repeating: 0, count: 8)
        for j in 0 ..< 8 {
            sc[j] = df > 0 ? UInt8(min(63, max(0, (scale[j] / df).rounded()))) : 0
            m[j] = dmf > 0 ? UInt8(min(63, max(0, (minimum[j] / dmf).rounded()))) : 0
        }
        out.storeBytes(of: d.bitPattern, as: UInt16.self)
        out.storeBytes(of: dmin.bitPattern, toByteOffset: 2, as: UInt16.self)
        for j in 0 ..< 4 {
            out.storeBytes(of: sc[j] | ((sc[j + 4] >> 4) << 6), toByteOffset: 4 + j, as: UInt8.self)
            out.storeBytes(of: m[j] | ((m[j + 4] >> 4) << 6), toByteOffset: 8 + j, as: UInt8.self)
            out.storeBytes(of: (sc[j + 4] & 0x0F) | ((m[j + 4] & 0x0F) << 4), toByteOffset: 12 + j, as: UInt8.self)
        }
        var n = [UInt8](repeating: 0, count: 256)
        for j in 0 ..< 8 {
            let effectiveScale = df * Float(sc[j]), effectiveMin = dmf * Float(m[j])
            for l in 0 ..< 32 where effectiveScale > 0 {
                n[32 * j + l] = UInt8(min(top, max(0, ((x[32 * j + l] + effectiveMin) / effectiveScale).rounded())))
            }
        }
        let qs = out + (five ? 48 : 16)
        for c in 0 ..< 4 {
            for l in 0 ..< 32 {
                qs.storeBytes(of: (n[64 * c + l] & 0x0F) | ((n[64 * c + 32 + l] & 0x0F) << 4), toByteOffset: 32 * c + l, as: UInt8.self)
            }
        }
        if five {
            for l in 0 ..< 32 {
                var bits: UInt8 = 0
                for j in 0 ..< 8 where n[32 * j + l] & 0x10 != 0 { bits |= 1 << UInt8(j) }
                out.storeBytes(of: bits, toByteOffset: 16 + l, as: UInt8.self)
            }
        }
    }

    /// Q6_K: per 16 weights an int8 scale (a multiple of the block's f16 `d`); values n − 32 in −32…31.
    private static func kQuant6(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var scale = [Float](repeating: 0, count: 16)
        for g in 0 ..< 16 {
            var amax: Float = 0
            for l in 0 ..< 16 { amax = max(amax, abs(x[16 * g + l])) }
            scale[g] = amax / 31
        }
        let d = Float16((scale.max() ?? 0) / 127)
        let df = Float(d)
        var sc = [Int8](repeating: 0, count: 16)
        for g in 0 ..< 16 { sc[g] = df > 0 ? Int8(min(127, max(-128, (scale[g] / df).rounded()))) : 0 }
        var n = [UInt8](repeating: 32, count: 256)
        for g in 0 ..< 16 {
            let effective = df * Float(sc[g])
            for l in 0 ..< 16 where effective != 0 {
                n[16 * g + l] = UInt8(min(31, max(-32, (x[16 * g + l] / effective).rounded())) + 32)
            }
        }
        for half in 0 ..< 2 {
            for l in 0 ..< 32 {
                let q = (0 ..< 4).map { n[128 * half + 32 * $0 + l] }
                out.storeBytes(of: (q[0] & 0x0F) | ((q[2] & 0x0F) << 4), toByteOffset: 64 * half + l, as: UInt8.self)
                out.storeBytes(of: (q[1] & 0x0F) | ((q[3] & 0x0F) << 4), toByteOffset: 64 * half + 32 + l, as: UInt8.self)
                out.storeBytes(of: (q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6),
                               toByteOffset: 128 + 32 * half + l, as: UInt8.self)
            }
        }
        for g in 0 ..< 16 { out.storeBytes(of: sc[g], toByteOffset: 192 + g, as: Int8.self) }
        out.storeBytes(of: d.bitPattern, toByteOffset: 208, as: UInt16.self)
    }
}

extension Quantizer {
    /// What `requantize` found: the first row it could not store, or the error of what it wrote.
    public struct Requantized {
        /// A row holding NaN or infinity, which no block scale can store (the conversion of such a scale to
        /// an integer level traps): nothing after it is trustworthy. Nil when every row was written.
        public var badRow: Int?
        /// Σ (original − written)² and Σ original², over all values (with `measure`; else 0).
        public var squaredError = 0.0
        public var squaredSignal = 0.0
    }

    /// Writes `source`'s rows in `type` into `destination` (rows × `type`'s row bytes), rows split over
    /// `pool`: what `quantize`, `convert` and `--quant` share. Float targets take any value; quantised
    /// ones refuse a row holding NaN or infinity (`badRow`). `measure` also decodes what was written, to
    /// report the error it costs.
    public static func requantize(_ source: WeightMatrix, to type: GGMLType, into destination: UnsafeMutableRawPointer,
                                  pool: ThreadPool, measure: Bool) -> Requantized {
        let rows = source.rows, cols = source.cols
        let rowBytes = cols / type.blockSize * type.blockBytes
        let written = WeightMatrix(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(destination))
        let floatTarget = [.f32, .f16, .bf16].contains(type)
        var partials = [Requantized](repeating: Requantized(), count: pool.threadCount)
        partials.withUnsafeMutableBufferPointer { results in
            pool.run { thread, threadCount in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * cols) { buffer in
                    guard let x = buffer.baseAddress else { return }
                    var result = Requantized()
                    defer { results[thread] = result }
                    for r in rows * thread / threadCount ..< rows * (thread + 1) / threadCount {
                        source.dequantize(row: r, into: x)
                        if !floatTarget, (0 ..< cols).contains(where: { !x[$0].isFinite }) {
                            result.badRow = r
                            return
                        }
                        quantizeRow(type, x, destination + r * rowBytes, count: cols)
                        guard measure else { continue }
                        written.dequantize(row: r, into: x + cols)
                        for c in 0 ..< cols {
                            let e = Double(x[c] - x[cols + c])
                            result.squaredError += e * e
                            result.squaredSignal += Double(x[c]) * Double(x[c])
                        }
                    }
                }
            }
        }
        var total = Requantized()
        total.badRow = partials.compactMap(\.badRow).min()
        total.squaredError = partials.reduce(0) { $0 + $1.squaredError }
        total.squaredSignal = partials.reduce(0) { $0 + $1.squaredSignal }
        return total
    }
}
