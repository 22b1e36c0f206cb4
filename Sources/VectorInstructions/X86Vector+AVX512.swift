import Swift

#if QWENTTY_AVX512_VNNI
/// AVX-512 (F, BW, VNNI): each operation is one instruction on a 64-byte register.
extension X86Vector {
    /// `vpdpbusd`: each 32-bit lane of `accumulator` plus the four products of its lane's unsigned bytes
    /// of `unsigned` with the signed bytes of `signed`, without saturation.
    @inlinable @inline(__always)
    public static func dotBytes(_ accumulator: SIMD16<Int32>, unsigned: SIMD16<UInt32>, signed: SIMD16<UInt32>) -> SIMD16<Int32> {
        let a = unsafeBitCast(accumulator, to: Builtin.Vec16xInt32.self)
        let u = unsafeBitCast(unsigned, to: Builtin.Vec16xInt32.self)
        let s = unsafeBitCast(signed, to: Builtin.Vec16xInt32.self)
        return unsafeBitCast(Builtin.int_x86_avx512_vpdpbusd_512(a, u, s), to: SIMD16<Int32>.self)
    }

    /// `vpmovm2b`: byte `i` is 0xFF where bit `i` of `bits` is set, else 0.
    @inlinable @inline(__always)
    public static func byteMask(_ bits: UInt64) -> SIMD16<UInt32> {
        let mask: Builtin.Vec64xInt1 = Builtin.bitcast_Int64_Vec64xInt1(bits._value)
        return unsafeBitCast(Builtin.sext_Vec64xInt1_Vec64xInt8(mask), to: SIMD16<UInt32>.self)
    }

    /// `vpermps`: lane `i` is `v[index[i]]` (indices 0–15).
    @inlinable @inline(__always)
    public static func permute(_ v: SIMD16<Float>, _ index: SIMD16<Int32>) -> SIMD16<Float> {
        let f = Builtin.int_x86_avx512_permvar_sf_512(unsafeBitCast(v, to: Builtin.Vec16xFPIEEE32.self),
                                                      unsafeBitCast(index, to: Builtin.Vec16xInt32.self))
        return unsafeBitCast(f, to: SIMD16<Float>.self)
    }
}
#endif
