#if QWENTTY_AVX512_VNNI
import ModelFiles
import VectorInstructions

// Weight row · Q8 activation with AVX-512 VNNI: 64 weights per `vpdpbusd`, against sixteen 128-bit Int16
// products in the portable kernels (`DotProducts.swift`), which made decode compute-bound on the nibble
// formats. Compiled only where the build machine has the instructions (Package.swift).
//
// `vpdpbusd` multiplies unsigned by signed bytes, and every format here stores its weights as unsigned
// codes with a constant offset (Q4_0 n − 8, Q5_0 n − 16, Q6_K n − 32; Q8_0's signed bytes become
// n + 128 by flipping the top bit). So the codes meet the signed activation as they are, and the offset is
// folded out with the activation's block sums: Σ (n − o)·x = Σ n·x − o·Σ x.
//
// Each instruction leaves sixteen Int32 lanes of four products each. They are not summed per block:
// they are converted to Float and multiplied by a lane vector of scales (weight scale × activation scale),
// so the only horizontal sum is one per row (llama.cpp's scheme).
//
// Every kernel needs an even number of 32-value blocks (a 64-value step); `WeightMatrix` falls back to
// the portable kernels otherwise.

/// Whether a row of `type` with `blocks` 32-value blocks has a VNNI kernel.
func hasByteDotKernel(_ type: GGMLType, blocks: Int) -> Bool {
    switch type {
    case .q8_0, .q4_0, .q5_0: return blocks % 2 == 0
    case .q4_K, .q6_K: return true
    default: return false
    }
}

/// Row · one token's activation (`x`: Int8 values, `xs` scales, `xsum` block sums) for a type that
/// `hasByteDotKernel`.
@inline(__always)
func dotByteKernel(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>,
                   _ xsum: UnsafePointer<Int32>, blocks: Int) -> Float {
    switch type {
    case .q8_0: return dotQ8_0VNNI(row, x, xs, xsum, blocks: blocks)
    case .q4_0: return dotQ4_0VNNI(row, x, xs, xsum, blocks: blocks)
    case .q5_0: return dotQ5_0VNNI(row, x, xs, xsum, blocks: blocks)
    case .q4_K: return dotQ4_KVNNI(row, x, xs, xsum, superBlocks: blocks / 8)
    default: return dotQ6_KVNNI(row, x, xs, superBlocks: blocks / 8)
    }
}

/// Sixteen lanes: the first eight `a`, the last eight `b` (one scale per 32-value block).
@inline(__always)
private func halves(_ a: Float, _ b: Float) -> SIMD16<Float> {
    SIMD16(lowHalf: SIMD8(repeating: a), highHalf: SIMD8(repeating: b))
}

/// The sum of the sixteen lanes, as a tree of vector adds.
@inline(__always)
private func total(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf
    let four = eight.lowHalf + eight.highHalf
    return (four[0] + four[1]) + (four[2] + four[3])
}

@inline(__always)
private func loadVector(_ p: UnsafeRawPointer, _ offset: Int = 0) -> SIMD16<UInt32> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
}

/// One 64-value step of a format with one scale per 32-value block: `codes` (blocks A and B, unsigned)
/// against the activation at block `b`; `d` are the two blocks' weight scales. The offset term is kept
/// apart in `offsets` (Σ d·x_scale·Σx per block) and subtracted once per row.
@inline(__always)
private func blockPair(_ codes: SIMD16<UInt32>, _ d: SIMD2<Float>, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>,
                       _ xsum: UnsafePointer<Int32>, _ b: Int, _ acc: inout SIMD16<Float>, _ offsets: inout SIMD2<Float>) {
    let dot = AVX512.dotBytes(.zero, unsigned: codes, signed: loadVector(x + b &* 32))
    let s = d * UnsafeRawPointer(xs + b).loadUnaligned(as: SIMD2<Float>.self)
    offsets.addProduct(s, SIMD2<Float>(UnsafeRawPointer(xsum + b).loadUnaligned(as: SIMD2<Int32>.self)))
    acc = AVX512.fma(AVX512.floats(dot), halves(s[0], s[1]), acc)
}

/// Sixteen nibbles (one 16-byte run of a Q4_0/Q5_0 block) as the block's 32 codes in order: low nibbles
/// are values 0–15, high nibbles 16–31.
@inline(__always)
private func nibbleCodes(_ block: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
    let q = block.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt32>.self)
    return SIMD8(lowHalf: q & 0x0F0F_0F0F, highHalf: (q &>> 4) & 0x0F0F_0F0F)
}

@inline(never)
func dotQ8_0VNNI(_ w: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
                 blocks: Int) -> Float {
    var acc = SIMD16<Float>(), offsets = SIMD2<Float>()
    var b = 0
    while b + 2 <= blocks {
        let a = w + b &* 34, c = a + 34
        let signed = SIMD16(lowHalf: a.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt32>.self),
                            highHalf: c.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt32>.self))
        blockPair(signed ^ 0x8080_8080, SIMD2(loadHalf(a), loadHalf(c)), x, xs, xsum, b, &acc, &offsets)
        b &+= 2
    }
    return total(acc) - 128 * offsets.sum()
}

@inline(never)
func dotQ4_0VNNI(_ w: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
                 blocks: Int) -> Float {
    var acc = SIMD16<Float>(), offsets = SIMD2<Float>()
    var b = 0
    while b + 2 <= blocks {
        let a = w + b &* 18, c = a + 18
        let codes = SIMD16(lowHalf: nibbleCodes(a, 2), highHalf: nibbleCodes(c, 2))
        blockPair(codes, SIMD2(loadHalf(a), loadHalf(c)), x, xs, xsum, b, &acc, &offsets)
        b &+= 2
    }
    return total(acc) - 8 * offsets.sum()
}

/// Q5_0: the fifth bits (32 per block, bit i for value i) of two blocks make one 64-bit mask, which
/// `vpmovm2b` turns into bytes in value order.
@inline(never)
func dotQ5_0VNNI(_ w: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
                 blocks: Int) -> Float {
    var acc = SIMD16<Float>(), offsets = SIMD2<Float>()
    var b = 0
    while b + 2 <= blocks {
        let a = w + b &* 22, c = a + 22
        let bits = UInt64(a.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian)
            | UInt64(c.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian) &<< 32
        let codes = SIMD16(lowHalf: nibbleCodes(a, 6), highHalf: nibbleCodes(c, 6)) | (AVX512.byteMask(bits) & 0x1010_1010)
        blockPair(codes, SIMD2(loadHalf(a), loadHalf(c)), x, xs, xsum, b, &acc, &offsets)
        b &+= 2
    }
    return total(acc) - 16 * offsets.sum()
}

/// Q4_K: each 32-byte run of nibbles holds two 32-value sub-blocks (low nibbles, then high), so one run
/// is one 64-value step in value order. Sub-block scales and mins are 6-bit (`KQuant.scaleMin`); the
/// min term is Σ dmin·m·x_scale·Σx per sub-block, kept apart as in `blockPair`.
@inline(never)
func dotQ4_KVNNI(_ w: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
                 superBlocks: Int) -> Float {
    var acc = SIMD16<Float>(), mins = SIMD8<Float>()
    for s in 0 ..< superBlocks {
        let block = w + s &* 144
        let packed = (block + 4).assumingMemoryBound(to: UInt8.self)
        var scale = SIMD8<Float>(), minimum = SIMD8<Float>()
        for j in 0 ..< 8 {
            let (sc, m) = KQuant.scaleMin(packed, j)
            scale[j] = Float(sc)
            minimum[j] = Float(m)
        }
        let xsv = UnsafeRawPointer(xs + s &* 8).loadUnaligned(as: SIMD8<Float>.self)
        let xsums = SIMD8<Float>(UnsafeRawPointer(xsum + s &* 8).loadUnaligned(as: SIMD8<Int32>.self))
        mins.addProduct(loadHalf(block, 2) * minimum * xsv, xsums)
        let lane = loadHalf(block) * scale * xsv
        let xv = x + s &* 256
        @inline(__always)
        func run(_ r: Int) -> SIMD16<Float> {
            let q = block.loadUnaligned(fromByteOffset: 16 + 32 * r, as: SIMD8<UInt32>.self)
            let codes = SIMD16(lowHalf: q & 0x0F0F_0F0F, highHalf: (q &>> 4) & 0x0F0F_0F0F)
            return AVX512.floats(AVX512.dotBytes(.zero, unsigned: codes, signed: loadVector(xv + 64 * r)))
        }
        acc = AVX512.fma(run(0), halves(lane[0], lane[1]), acc)
        acc = AVX512.fma(run(1), halves(lane[2], lane[3]), acc)
        acc = AVX512.fma(run(2), halves(lane[4], lane[5]), acc)
        acc = AVX512.fma(run(3), halves(lane[6], lane[7]), acc)
    }
    return total(acc) - mins.sum()
}

/// Q6_K: per 128-value half, the low nibbles of 64 `ql` bytes are values 0–63 and their high nibbles
/// 64–127, in order; the two high bits come from 32 `qh` bytes (bit pairs 0–1, 2–3 for the first 64,
/// 4–5, 6–7 for the second). Each 16 values have their own Int8 scale, so the lane scale is laid out
/// per four lanes with a permute. The −32 offset is a second `vpdpbusd` against 32s, since the
/// activation has sums per 32 values, not per 16.
@inline(never)
func dotQ6_KVNNI(_ w: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xs: UnsafePointer<Float>, superBlocks: Int) -> Float {
    // Lane i of a 64-value step belongs to sub-block i / 4 of the step, and to activation block i / 8.
    let i0 = SIMD16<Int32>(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
    let (i1, i2, i3) = (i0 &+ 4, i0 &+ 8, i0 &+ 12)
    let pairs = SIMD16<Int32>(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)
    let thirtyTwos = SIMD16<UInt32>(repeating: 0x2020_2020)
    var acc = SIMD16<Float>()
    for s in 0 ..< superBlocks {
        let block = w + s &* 210
        // Sub-block k (16 values): d · scale[k] · x_scale[k / 2].
        let xsv = UnsafeRawPointer(xs + s &* 8).loadUnaligned(as: SIMD8<Float>.self)
        let sub = AVX512.floats(signedBytes: block.loadUnaligned(fromByteOffset: 192, as: SIMD4<UInt32>.self))
            * AVX512.permute(SIMD16(lowHalf: xsv, highHalf: xsv), pairs) * loadHalf(block, 208)
        let xv = x + s &* 256
        @inline(__always)
        func step(_ codes: SIMD16<UInt32>, _ offset: Int, _ index: SIMD16<Int32>) {
            let xq = loadVector(xv + offset)
            let dot = AVX512.dotBytes(.zero, unsigned: codes, signed: xq) &- AVX512.dotBytes(.zero, unsigned: thirtyTwos, signed: xq)
            acc = AVX512.fma(AVX512.floats(dot), AVX512.permute(sub, index), acc)
        }
        for h in 0 ..< 2 {
            let ql = loadVector(block, 64 * h)
            let qh = block.loadUnaligned(fromByteOffset: 128 + 32 * h, as: SIMD8<UInt32>.self)
            let low = SIMD16(lowHalf: qh, highHalf: qh &>> 2) & 0x0303_0303
            let high = SIMD16(lowHalf: qh &>> 4, highHalf: qh &>> 6) & 0x0303_0303
            step((ql & 0x0F0F_0F0F) | (low &<< 4), 128 * h, h == 0 ? i0 : i2)
            step(((ql &>> 4) & 0x0F0F_0F0F) | (high &<< 4), 128 * h + 64, h == 0 ? i1 : i3)
        }
    }
    return total(acc)
}
#endif
