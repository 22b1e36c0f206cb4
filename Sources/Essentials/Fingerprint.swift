/// A 64-bit non-cryptographic hash of bytes, fed in pieces: what a cache file checks its contents and
/// its origin with (a model file's header, the token ids, the cached keys and values).
///
/// It has to notice a flipped bit or a truncated copy, not an adversary: a file that passes it is still
/// only ever used as a cache of something the program can recompute. Four independent lanes of
/// multiply-rotate keep it at memory speed on the tens of megabytes a long chat's cache holds. Each
/// `combine` call is hashed as one piece (its length included), so a reader must feed the same pieces
/// as the writer did.
public struct Fingerprint: Sendable {
    private var lanes = SIMD4<UInt64>(0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x85EB_CA77_C2B2_AE63)
    private var pieces: UInt64 = 0

    public init() {}

    private static let multiplier = SIMD4<UInt64>(repeating: 0x9FB2_1C65_1E98_DF25)

    private static func mix(_ lanes: SIMD4<UInt64>, _ word: SIMD4<UInt64>) -> SIMD4<UInt64> {
        let x = lanes ^ (word &* multiplier)
        return ((x &<< 29) | (x &>> 35)) &* multiplier
    }

    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var l = lanes
        var i = 0
        let n = bytes.count
        if let base = bytes.baseAddress {
            while i + 32 <= n {
                l = Self.mix(l, SIMD4(base.loadUnaligned(fromByteOffset: i, as: UInt64.self),
                                      base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self),
                                      base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self),
                                      base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)))
                i += 32
            }
            var tail = SIMD4<UInt64>(repeating: 0)
            var lane = 0
            while i < n {
                var word: UInt64 = 0
                for k in 0 ..< min(8, n - i) { word |= UInt64(base.load(fromByteOffset: i + k, as: UInt8.self)) << (8 * k) }
                tail[lane] = word
                lane += 1
                i += 8
            }
            l = Self.mix(l, tail)
        }
        l = Self.mix(l, SIMD4(repeating: UInt64(n)))
        lanes = l
        pieces &+= 1
    }

    public mutating func combine(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { combine($0) }
    }

    public mutating func combine<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { combine($0) }
    }

    public mutating func combine(_ text: String) {
        combine(Array(text.utf8))
    }

    /// The lanes folded and avalanched (MurmurHash3's finaliser), so every input bit reaches every output bit.
    public var value: UInt64 {
        var h = pieces
        for k in 0 ..< 4 { h = (h ^ lanes[k]) &* 0xFF51_AFD7_ED55_8CCD; h ^= h >> 33 }
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// One piece's fingerprint.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var f = Fingerprint()
        f.combine(bytes)
        return f.value
    }
}
