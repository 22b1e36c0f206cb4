// Built with -parse-stdlib: the `Builtin` module is how Swift code names an LLVM intrinsic or a plain LLVM
// vector operation, and these are the x86 instructions the kernels need that LLVM never selects from
// plain Swift SIMD code (checked in the generated code: an 8-bit dot-product loop becomes vpmovsxbd +
// vpmaddwd, never vpdpbusd or vpmaddubsw).
import Swift

/// The x86 vector instructions of the byte-dot kernels (`ByteDotProducts` in Kernels), on 64-byte
/// vectors. Compiled for the instruction set the build machine has (Package.swift sets
/// `QWENTTY_AVX512_VNNI` or `QWENTTY_AVX2`); with neither, only `instructionSet` exists and the kernels
/// fall back to portable SIMD code (ARM, older x86).
///
/// Every operand is a `SIMD16` of 32-bit lanes, whatever the instruction's element size: operations on
/// wider stdlib vectors (`SIMD64<UInt8>`) and their conversions are lane-by-lane loops or outlined calls
/// in Swift 6.3, while 16-lane integer bit operations compile to single instructions (two on AVX2).
public enum X86Vector {
    /// What this build's byte-dot kernels use, for `info` and `bench`.
    #if QWENTTY_AVX512_VNNI
    public static let instructionSet: String? = "AVX-512 VNNI"
    #elseif QWENTTY_AVX2
    public static let instructionSet: String? = "AVX2"
    #else
    public static let instructionSet: String? = nil
    #endif
}

#if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
extension X86Vector {
    /// `vcvtdq2ps` (stdlib's `SIMD16<Float>(SIMD16<Int32>)` is an outlined call).
    @inlinable @inline(__always)
    public static func floats(_ v: SIMD16<Int32>) -> SIMD16<Float> {
        let f = Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(unsafeBitCast(v, to: Builtin.Vec16xInt32.self))
        return unsafeBitCast(f, to: SIMD16<Float>.self)
    }

    /// `vpmovsxbd` + `vcvtdq2ps`: sixteen signed bytes as Floats.
    @inlinable @inline(__always)
    public static func floats(signedBytes v: SIMD4<UInt32>) -> SIMD16<Float> {
        let ints = Builtin.sext_Vec16xInt8_Vec16xInt32(unsafeBitCast(v, to: Builtin.Vec16xInt8.self))
        return unsafeBitCast(Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(ints), to: SIMD16<Float>.self)
    }

    /// `a · b + c` in one rounding, as `vfmadd` (stdlib's `addProduct` on 16 lanes can become a lane loop).
    @inlinable @inline(__always)
    public static func fma(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> {
        let x = unsafeBitCast(a, to: Builtin.Vec16xFPIEEE32.self)
        let y = unsafeBitCast(b, to: Builtin.Vec16xFPIEEE32.self)
        let z = unsafeBitCast(c, to: Builtin.Vec16xFPIEEE32.self)
        return unsafeBitCast(Builtin.int_fma_Vec16xFPIEEE32(x, y, z), to: SIMD16<Float>.self)
    }
}
#endif
