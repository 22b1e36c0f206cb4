import Swift

#if QWENTTY_AVX2 && !QWENTTY_AVX512_VNNI
/// AVX2 (x86-64-v3: Haswell on, Zen 1–3): the same operations on two 32-byte halves, as llama.cpp's AVX2
/// kernels do them.
extension X86Vector {
    /// `vpmaddubsw` + `vpmaddwd` by ones + `vpaddd`, per half: each 32-bit lane of `accumulator` plus the
    /// four products of its lane's unsigned bytes of `unsigned` with the signed bytes of `signed`.
    /// `vpmaddubsw` saturates its pair sums to Int16, so this equals `vpdpbusd` only while
    /// u₀·s₀ + u₁·s₁ stays within ±32767: unsigned bytes below 128 against signed bytes in −127…127
    /// (the kernels' codes are at most 63; Q8_0 goes through `dotSignedBytes`).
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

    /// Each 32-bit lane of `accumulator` plus the four products of its lane's signed bytes of `a` and `b`:
    /// `vpsignb` moves `a`'s signs onto `b` and makes |a| (−128 stays 0x80, i.e. 128 unsigned), so
    /// `vpmaddubsw` can take it; |a| ≤ 128 and |b| ≤ 127 keep each pair sum within Int16 (llama.cpp's
    /// Q8_0 kernel for AVX2).
    @inlinable @inline(__always)
    public static func dotSignedBytes(_ accumulator: SIMD16<Int32>, _ a: SIMD16<UInt32>, _ b: SIMD16<UInt32>) -> SIMD16<Int32> {
        @inline(__always)
        func half(_ a: SIMD8<UInt32>, _ b: SIMD8<UInt32>) -> (SIMD8<UInt32>, SIMD8<UInt32>) {
            let x = unsafeBitCast(a, to: Builtin.Vec32xInt8.self), y = unsafeBitCast(b, to: Builtin.Vec32xInt8.self)
            return (unsafeBitCast(Builtin.int_x86_avx2_psign_b(x, x), to: SIMD8<UInt32>.self),
                    unsafeBitCast(Builtin.int_x86_avx2_psign_b(y, x), to: SIMD8<UInt32>.self))
        }
        let (low, lowSigned) = half(a.lowHalf, b.lowHalf), (high, highSigned) = half(a.highHalf, b.highHalf)
        return dotBytes(accumulator, unsigned: SIMD16(lowHalf: low, highHalf: high), signed: SIMD16(lowHalf: lowSigned, highHalf: highSigned))
    }

    /// Byte `i` is 0xFF where bit `i` of `bits` is set, else 0 (llama.cpp's `bytes_from_bits_32`, per
    /// half): `vpshufb` copies byte `i / 8` of the word to byte `i`, an OR sets every bit but bit `i % 8`,
    /// and `vpcmpeqb` against all-ones keeps the bytes whose bit was set. (A variable shift and a
    /// multiply per lane, in plain Swift, compiled to ~60 partly scalar instructions.)
    @inlinable @inline(__always)
    public static func byteMask(_ bits: UInt64) -> SIMD16<UInt32> {
        @inline(__always)
        func half(_ word: UInt32) -> SIMD8<UInt32> {
            let source = unsafeBitCast(SIMD8<UInt32>(repeating: word), to: Builtin.Vec32xInt8.self)
            let spread = SIMD8<UInt32>(0, 0, 0x0101_0101, 0x0101_0101, 0x0202_0202, 0x0202_0202, 0x0303_0303, 0x0303_0303)
            let bytes = unsafeBitCast(Builtin.int_x86_avx2_pshuf_b(source, unsafeBitCast(spread, to: Builtin.Vec32xInt8.self)),
                                      to: SIMD8<UInt32>.self)
            let others = SIMD8<UInt32>(0xF7FB_FDFE, 0x7FBF_DFEF, 0xF7FB_FDFE, 0x7FBF_DFEF, 0xF7FB_FDFE, 0x7FBF_DFEF, 0xF7FB_FDFE, 0x7FBF_DFEF)
            let set = Builtin.cmp_eq_Vec32xInt8(unsafeBitCast(bytes | others, to: Builtin.Vec32xInt8.self),
                                                unsafeBitCast(SIMD8<UInt32>(repeating: .max), to: Builtin.Vec32xInt8.self))
            return unsafeBitCast(Builtin.sext_Vec32xInt1_Vec32xInt8(set), to: SIMD8<UInt32>.self)
        }
        return SIMD16(lowHalf: half(UInt32(truncatingIfNeeded: bits)), highHalf: half(UInt32(truncatingIfNeeded: bits &>> 32)))
    }

    /// Lane `i` is `v[index[i]]` (indices 0–15): `vpermps` on each half, then a blend by bit 3 of the
    /// index, as integer bit operations (stdlib's `.>=` and `replacing(with:where:)` build the mask lane by
    /// lane through the stack here: that alone made the Q6_K kernel half of a decoded token).
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
            let low = unsafeBitCast(permute8(v.lowHalf, index & 7), to: SIMD8<Int32>.self)
            let high = unsafeBitCast(permute8(v.highHalf, index & 7), to: SIMD8<Int32>.self)
            let fromHigh = (index &<< 28) &>> 31
            return unsafeBitCast((low & ~fromHigh) | (high & fromHigh), to: SIMD8<Float>.self)
        }
        return SIMD16(lowHalf: lanes(index.lowHalf), highHalf: lanes(index.highHalf))
    }
}
#endif
