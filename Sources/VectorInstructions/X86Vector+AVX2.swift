import Swift

#if QWENTTY_AVX2 && !QWENTTY_AVX512_VNNI
/// AVX2 (x86-64-v3: Haswell on, Zen 1–3): the same operations on two 32-byte halves, as llama.cpp's AVX2
/// kernels do them.
extension X86Vector {
    /// `vpmaddubsw` + `vpmaddwd` by ones + `vpaddd`, per half: each 32-bit lane of `accumulator` plus the
    /// four products of its lane's unsigned bytes of `unsigned` with the signed bytes of `signed`.
    /// `vpmaddubsw` saturates its pair sums to Int16, so this equals `vpdpbusd` only while
    /// u₀·s₀ + u₁·s₁ stays within ±32767: unsigned bytes below 128 against signed bytes in −127…127
    /// (the kernels' codes are at most 63; Q8_0's are not, so it has no AVX2 byte kernel).
    @inlinable @inline(__always)
    public static func dotBytes(_ accumulator: SIMD16<Int32>, unsigned: SIMD16<UInt32>, signed: SIMD16<UInt32>) -> SIMD16<Int32> {
        @inline(__always)
        func half(_ u: SIMD8<UInt32>, _ s: SIMD8<UInt32>) -> SIMD8<Int32> {
            let pairs = Builtin.int_x86_avx2_pmadd_ub_sw(unsafeBitCast(u, to: Builtin.Vec32xInt8.self),
                                                         unsafeBitCast(s, to: Builtin.Vec32xInt8.self))
            let ones = unsafeBitCast(SIMD8<UInt32>(repeating: 0x0001_0001), to: Builtin.Vec16xInt16.self)
            return unsafeBitCast(Builtin.int_x86_avx2_pmadd_wd(pairs, ones), to: SIMD8<Int32>.self)
        }
        return accumulator &+ SIMD16(lowHalf: half(unsigned.lowHalf, signed.lowHalf), highHalf: half(unsigned.highHalf, signed.highHalf))
    }

    /// Byte `i` is 0xFF where bit `i` of `bits` is set, else 0. Lane `j` takes bits 4j…4j+3 (a variable
    /// shift); multiplying that nibble by 0x00204081 puts its bit `k` at bit 0 of byte `k`.
    @inlinable @inline(__always)
    public static func byteMask(_ bits: UInt64) -> SIMD16<UInt32> {
        let words = SIMD16<UInt32>(lowHalf: SIMD8(repeating: UInt32(truncatingIfNeeded: bits)),
                                   highHalf: SIMD8(repeating: UInt32(truncatingIfNeeded: bits &>> 32)))
        let shifts = SIMD16<UInt32>(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28)
        let ones = (((words &>> shifts) & 0xF) &* 0x0020_4081) & 0x0101_0101
        return (ones &<< 8) &- ones
    }

    /// Lane `i` is `v[index[i]]` (indices 0–15): `vpermps` on each half, then a blend by `index ≥ 8`.
    @inlinable @inline(__always)
    public static func permute(_ v: SIMD16<Float>, _ index: SIMD16<Int32>) -> SIMD16<Float> {
        @inline(__always)
        func permute8(_ source: SIMD8<Float>, _ index: SIMD8<Int32>) -> SIMD8<Float> {
            let f = Builtin.int_x86_avx2_permps(unsafeBitCast(source, to: Builtin.Vec8xFPIEEE32.self),
                                                unsafeBitCast(index, to: Builtin.Vec8xInt32.self))
            return unsafeBitCast(f, to: SIMD8<Float>.self)
        }
        @inline(__always)
        func lanes(_ index: SIMD8<Int32>) -> SIMD8<Float> {
            let low = permute8(v.lowHalf, index & 7), high = permute8(v.highHalf, index & 7)
            return low.replacing(with: high, where: index .>= 8)
        }
        return SIMD16(lowHalf: lanes(index.lowHalf), highHalf: lanes(index.highHalf))
    }
}
#endif
