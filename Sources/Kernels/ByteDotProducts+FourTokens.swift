#if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
import ModelFiles
import VectorInstructions

// The byte-dot kernels of `ByteDotProducts.swift` for four tokens at once: a short prompt (a chat turn, a
// sentiment badge) is a few tokens per weight row, and most of a single-token step is decoding the
// weight codes (loads, shifts, masks), not the `vpdpbusd`. Here each 64-value step decodes the codes
// once and meets four activations, so a 16-token prefill costs about what four decode steps' codes do
// plus sixteen tokens' products, without the row layout of the panel kernels.

/// Row · tokens `0 ..< 4` of `x` for a type that `hasByteDotKernel`.
@inline(__always)
func dotByteKernel4(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> {
    switch type {
    case .q8_0: return dotQ8_0Bytes4(row, x)
    case .q4_0: return dotQ4_0Bytes4(row, x)
    case .q5_0: return dotQ5_0Bytes4(row, x)
    case .q4_K: return dotQ4_KBytes4(row, x)
    default: return dotQ6_KBytes4(row, x)
    }
}

@inline(__always)
private func blockRow4(_ format: BlockPairFormat, _ w: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> {
    var s0 = BlockPairFormat.Sums(), s1 = s0, s2 = s0, s3 = s0
    let (x0, x1, x2, x3) = (x.token(0), x.token(1), x.token(2), x.token(3))
    var b = 0
    while b + 2 <= x.cols / 32 {
        let (codes, d) = format.pair(w, b)
        let lanes = halves(d[0], d[1])
        s0.add(format, codes, d, lanes, x0, b)
        s1.add(format, codes, d, lanes, x1, b)
        s2.add(format, codes, d, lanes, x2, b)
        s3.add(format, codes, d, lanes, x3, b)
        b &+= 2
    }
    return SIMD4(s0.value(format), s1.value(format), s2.value(format), s3.value(format))
}

@inline(never) func dotQ8_0Bytes4(_ w: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> { blockRow4(.q8_0, w, x) }
@inline(never) func dotQ4_0Bytes4(_ w: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> { blockRow4(.q4_0, w, x) }
@inline(never) func dotQ5_0Bytes4(_ w: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> { blockRow4(.q5_0, w, x) }

@inline(never)
func dotQ4_KBytes4(_ w: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> {
    var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0
    var m0 = SIMD8<Float>(), m1 = m0, m2 = m0, m3 = m0
    let (x0, x1, x2, x3) = (x.token(0), x.token(1), x.token(2), x.token(3))
    for s in 0 ..< x.cols / 256 {
        let block = Q4_KSuperBlock(w, s)
        @inline(__always)
        func mins(_ x: ByteActivation, _ m: inout SIMD8<Float>) {
            m.addProduct(block.mins, UnsafeRawPointer(x.scaledSums + s &* 8).loadUnaligned(as: SIMD8<Float>.self))
        }
        mins(x0, &m0)
        mins(x1, &m1)
        mins(x2, &m2)
        mins(x3, &m3)
        for r in 0 ..< 4 {
            let codes = block.codes(r), lanes = block.lanes(r), pair = 4 &* s &+ r
            a0 = X86Vector.fma(x0.products(codes, pair: pair), lanes * x0.pairScales[pair], a0)
            a1 = X86Vector.fma(x1.products(codes, pair: pair), lanes * x1.pairScales[pair], a1)
            a2 = X86Vector.fma(x2.products(codes, pair: pair), lanes * x2.pairScales[pair], a2)
            a3 = X86Vector.fma(x3.products(codes, pair: pair), lanes * x3.pairScales[pair], a3)
        }
    }
    return SIMD4(total(a0), total(a1), total(a2), total(a3)) - SIMD4(m0.sum(), m1.sum(), m2.sum(), m3.sum())
}

@inline(never)
func dotQ6_KBytes4(_ w: UnsafeRawPointer, _ x: ByteActivation) -> SIMD4<Float> {
    var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0
    let (x0, x1, x2, x3) = (x.token(0), x.token(1), x.token(2), x.token(3))
    for s in 0 ..< x.cols / 256 {
        let block = Q6_KSuperBlock(w, s)
        for k in 0 ..< 4 {
            let (codes, lanes) = block.step(k)
            let pair = 4 &* s &+ k
            @inline(__always)
            func term(_ x: ByteActivation) -> SIMD16<Float> {
                x.products(codes, pair: pair) - Q6_KSuperBlock.offsets(x, pair: pair)
            }
            a0 = X86Vector.fma(term(x0), lanes * x0.pairScales[pair], a0)
            a1 = X86Vector.fma(term(x1), lanes * x1.pairScales[pair], a1)
            a2 = X86Vector.fma(term(x2), lanes * x2.pairScales[pair], a2)
            a3 = X86Vector.fma(term(x3), lanes * x3.pairScales[pair], a3)
        }
    }
    return SIMD4(total(a0), total(a1), total(a2), total(a3))
}
#endif
