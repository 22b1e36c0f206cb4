// Built with -parse-stdlib: the `Builtin` module is how Swift code names an LLVM intrinsic, and these are the
// x86 instructions the kernels need that LLVM never selects from plain Swift SIMD code (checked in the
// generated code: an 8-bit dot-product loop becomes vpmovsxbd + vpmaddwd, never vpdpbusd).
import Swift

/// AVX-512 instructions (F, BW, VNNI) on the SIMD types the kernels use, 64 bytes per vector. Compiled only
/// where the build machine has them (`QWENTTY_AVX512_VNNI`, set by Package.swift); the kernels fall back
/// to portable SIMD code elsewhere.
///
/// Every operand is a `SIMD16` of 32-bit lanes, whatever the instruction's element size: operations on
/// wider stdlib vectors (`SIMD64<UInt8>`) and their conversions are lane-by-lane loops or outlined calls
/// in Swift 6.3, while 16-lane integer bit operations compile to single instructions.
public enum AVX512 {
    /// Whether this build has these instructions (the kernels choose at compile time; this is for
    /// `info`, `bench` and the tests).
    #if QWENTTY_AVX512_VNNI
    public static let isAvailable = true
    #else
    public static let isAvailable = false
    #endif
}

#if QWENTTY_AVX512_VNNI
extension AVX512 {
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

    /// `vcvtdq2ps` (stdlib's `SIMD16<Float>(SIMD16<Int32>)` is an outlined call).
    @inlinable @inline(__always)
    public static func floats(_ v: SIMD16<Int32>) -> SIMD16<Float> {
        let f = Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(unsafeBitCast(v, to: Builtin.Vec16xInt32.self))
        return unsafeBitCast(f, to: SIMD16<Float>.self)
    }

    /// `a · b + c` in one rounding, as one `vfmadd` (stdlib's `addProduct` on 16 lanes can become a
    /// lane loop).
    @inlinable @inline(__always)
    public static func fma(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> {
        let x = unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self)
        let y = unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)
        let z = unsafeBitCast(c, to: Builtin.Vec16xFPIEEE32.self)
        return unsafeBitCast(Builtin.int_fma_Vec16xFPIEEE32(x, y, z), to: SIMD16<Float>.self)
    }
}
#endif

#if QWENTTY_AVX512_VNNI
extension AVX512 {
    /// `vpermps`: lane `i` is `v[index[i]]` (indices taken mod 16).
    @inlinable @inline(__always)
    public static func permute(_ v: SIMD16<Float>, _ index: SIMD16<Int32>) -> SIMD16<Float> {
        let f = Builtin.int_x86_avx512_permvar_sf_512(unsafeBitCast(v, to: Builtin.Vec16xFPIEEE32.self),
                                                      unsafeBitCast(index, to: Builtin.Vec16xInt32.self))
        return unsafeBitCast(f, to: SIMD16<Float>.self)
    }

    /// `vpmovsxbd` + `vcvtdq2ps`: sixteen signed bytes as Floats.
    @inlinable @inline(__always)
    public static func floats(signedBytes v: SIMD4<UInt32>) -> SIMD16<Float> {
        let bytes = unsafeBitCast(v, to: Builtin.Vec16xInt8.self)
        let ints = Builtin.sext_Vec16xInt8_Vec16xInt32(bytes)
        return unsafeBitCast(Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(ints), to: SIMD16<Float>.self)
    }
}
#endif
