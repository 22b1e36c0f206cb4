#if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
import ModelFiles
import VectorInstructions

// Weight row · Q8 activation in 8-bit products: 64 weights per AVX-512 VNNI `vpdpbusd` (or two AVX2
// `vpmaddubsw` + `vpmaddwd`; `X86Vector`), against sixteen 128-bit Int16 products in the portable kernels
// (`DotProducts.swift`), which made decode compute-bound on the nibble formats. Compiled only where the
// build machine has one of those instruction sets (Package.swift).
//
// Both multiply unsigned by signed bytes, and every format here stores its weights as unsigned
// codes with a constant offset (Q4_0 n − 8, Q5_0 n − 16, Q6_K n − 32; with VNNI, Q8_0's signed bytes
// become n + 128 by flipping the top bit; with AVX2 they take the sign trick, `BlockPairFormat.products`).
// So the codes meet the signed activation as they are, and the offset is folded out with the activation's
// block sums: Σ (n − o)·x = Σ n·x − o·Σ x.
//
// Each instruction leaves sixteen Int32 lanes of four products each. They are not summed per block:
// they are converted to Float and multiplied by a lane vector of scales (weight scale × activation scale,
// the latter laid out per lane in advance: `ActivationQ8.pairScales`), so the only horizontal sum is one
// per row (llama.cpp's scheme). The offset term is Σ d·(activation scale·Σx) per block, the second factor
// also precomputed (`ActivationQ8.scaledSums`).
//
// Every kernel needs an even number of 32-value blocks (a 64-value step); `WeightMatrix` falls back to
// the portable kernels otherwise.

/// Whether a row of `type` with `blocks` 32-value blocks has a byte-dot kernel.
func hasByteDotKernel(_ type: GGMLType, blocks: Int) -> Bool {
    switch type {
    case .q8_0, .q4_0, .q5_0: return blocks % 2 == 0
    case .q4_K, .q6_K: return blocks % 8 == 0
    default: return false
    }
}

/// A quantised activation as the byte-dot kernels read it; `token(t)` is the `t`-th row of `cols` values.
struct ByteActivation {
    let values: UnsafePointer<Int8>
    /// Per 32-value block (the byte panels' scale; the row kernels read `pairScales`).
    let scales: UnsafePointer<Float>
    let pairScales: UnsafePointer<SIMD16<Float>>
    let scaledSums: UnsafePointer<Float>
    let cols: Int

    init(_ x: ActivationQ8, cols: Int) {
        values = UnsafePointer(x.bytes)
        scales = UnsafePointer(x.scales)
        pairScales = UnsafePointer(x.pairScales)
        scaledSums = UnsafePointer(x.scaledSums)
        self.cols = cols
    }

    private init(values: UnsafePointer<Int8>, scales: UnsafePointer<Float>, pairScales: UnsafePointer<SIMD16<Float>>,
                 scaledSums: UnsafePointer<Float>, cols: Int) {
        (self.values, self.scales, self.pairScales, self.scaledSums, self.cols) = (values, scales, pairScales, scaledSums, cols)
    }

    @inline(__always)
    func token(_ t: Int) -> ByteActivation {
        ByteActivation(values: values + t &* cols, scales: scales + t &* (cols / 32), pairScales: pairScales + t &* (cols / 64),
                       scaledSums: scaledSums + t &* (cols / 32), cols: cols)
    }

    /// Products of the 64 values from value `64·pair` on with 64 unsigned codes, as Floats per lane.
    @inline(__always)
    func products(_ codes: SIMD16<UInt32>, pair: Int) -> SIMD16<Float> {
        X86Vector.floats(X86Vector.dotBytes(.zero, unsigned: codes, signed: loadVector(values + pair &* 64)))
    }
}

/// Row · one token's activation for a type that `hasByteDotKernel`.
@inline(__always)
func dotByteKernel(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: ByteActivation) -> Float {
    switch type {
    case .q8_0: return dotQ8_0Bytes(row, x)
    case .q4_0: return dotQ4_0Bytes(row, x)
    case .q5_0: return dotQ5_0Bytes(row, x)
    case .q4_K: return dotQ4_KBytes(row, x)
    default: return dotQ6_KBytes(row, x)
    }
}

/// Sixteen lanes: the first eight `a`, the last eight `b` (one scale per 32-value block).
@inline(__always)
func halves(_ a: Float, _ b: Float) -> SIMD16<Float> {
    SIMD16(lowHalf: SIMD8(repeating: a), highHalf: SIMD8(repeating: b))
}

/// The sum of the sixteen lanes, as a tree of vector adds.
@inline(__always)
func total(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf
    let four = eight.lowHalf + eight.highHalf
    return (four[0] + four[1]) + (four[2] + four[3])
}

@inline(__always)
func loadVector(_ p: UnsafeRawPointer, _ offset: Int = 0) -> SIMD16<UInt32> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
}

/// Sixteen nibbles (one 16-byte run of a Q4_0/Q5_0 block) as the block's 32 codes in order: low nibbles
/// are values 0–15, high nibbles 16–31.
@inline(__always)
private func nibbleCodes(_ block: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
    let q = block.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt32>.self)
    return SIMD8(lowHalf: q & 0x0F0F_0F0F, highHalf: (q &>> 4) & 0x0F0F_0F0F)
}

/// The formats with one scale per 32-value block, read two blocks (64 values) at a time.
enum BlockPairFormat {
    case q8_0, q4_0, q5_0

    /// The constant the codes are offset by (value = code − offset).
    var offset: Float {
        switch self {
        #if QWENTTY_AVX512_VNNI
        case .q8_0: return 128
        #else
        case .q8_0: return 0
        #endif
        case .q4_0: return 8
        case .q5_0: return 16
        }
    }

    /// The 64 products of blocks `2·pair`, `2·pair + 1` with `x`, as Floats per lane. Q8_0's signed bytes
    /// become unsigned codes by flipping the top bit for `vpdpbusd`, but such codes (up to 255) would
    /// saturate AVX2's `vpmaddubsw`, so there they stay signed and meet `dotSignedBytes`.
    @inline(__always)
    func products(_ codes: SIMD16<UInt32>, _ x: ByteActivation, pair: Int) -> SIMD16<Float> {
        #if !QWENTTY_AVX512_VNNI
        if self == .q8_0 {
            return X86Vector.floats(X86Vector.dotSignedBytes(.zero, codes, loadVector(x.values + pair &* 64)))
        }
        #endif
        return x.products(codes, pair: pair)
    }

    /// Blocks `b` and `b + 1` of `row`: their unsigned codes and scales.
    @inline(__always)
    func pair(_ row: UnsafeRawPointer, _ b: Int) -> (codes: SIMD16<UInt32>, scales: SIMD2<Float>) {
        switch self {
        case .q8_0:
            let a = row + b &* 34, c = a + 34
            let signed = SIMD16(lowHalf: a.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt32>.self),
                                highHalf: c.loadUnaligned(fromByteOffset: 2, as: SIMD8<UInt32>.self))
            #if QWENTTY_AVX512_VNNI
            return (signed ^ 0x8080_8080, SIMD2(loadHalf(a), loadHalf(c)))
            #else
            return (signed, SIMD2(loadHalf(a), loadHalf(c)))
            #endif
        case .q4_0:
            let a = row + b &* 18, c = a + 18
            return (SIMD16(lowHalf: nibbleCodes(a, 2), highHalf: nibbleCodes(c, 2)), SIMD2(loadHalf(a), loadHalf(c)))
        case .q5_0:
            // The fifth bits (32 per block, bit i for value i) of two blocks make one 64-bit mask, which
            // `vpmovm2b` turns into bytes in value order.
            let a = row + b &* 22, c = a + 22
            let bits = UInt64(a.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian)
                | UInt64(c.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian) &<< 32
            let codes = SIMD16(lowHalf: nibbleCodes(a, 6), highHalf: nibbleCodes(c, 6)) | (X86Vector.byteMask(bits) & 0x1010_1010)
            return (codes, SIMD2(loadHalf(a), loadHalf(c)))
        }
    }

    /// One token's running sums over a row: Float products per lane, and the offset term per block pair.
    struct Sums {
        var products = SIMD16<Float>()
        var offsets = SIMD2<Float>()

        /// Adds blocks `b`, `b + 1` (`codes`, scales `d`, `lanes` = `d` per lane) against `x`.
        @inline(__always)
        mutating func add(_ format: BlockPairFormat, _ codes: SIMD16<UInt32>, _ d: SIMD2<Float>, _ lanes: SIMD16<Float>,
                          _ x: ByteActivation, _ b: Int) {
            products = X86Vector.fma(format.products(codes, x, pair: b / 2), lanes * x.pairScales[b / 2], products)
            offsets.addProduct(d, UnsafeRawPointer(x.scaledSums + b).loadUnaligned(as: SIMD2<Float>.self))
        }

        @inline(__always)
        func value(_ format: BlockPairFormat) -> Float { total(products) - format.offset * (offsets[0] + offsets[1]) }
    }
}

@inline(__always)
private func blockRow(_ format: BlockPairFormat, _ w: UnsafeRawPointer, _ x: ByteActivation) -> Float {
    var sums = BlockPairFormat.Sums()
    var b = 0
    while b + 2 <= x.cols / 32 {
        let (codes, d) = format.pair(w, b)
        sums.add(format, codes, d, halves(d[0], d[1]), x, b)
        b &+= 2
    }
    return sums.value(format)
}

@inline(never) func dotQ8_0Bytes(_ w: UnsafeRawPointer, _ x: ByteActivation) -> Float { blockRow(.q8_0, w, x) }
@inline(never) func dotQ4_0Bytes(_ w: UnsafeRawPointer, _ x: ByteActivation) -> Float { blockRow(.q4_0, w, x) }
@inline(never) func dotQ5_0Bytes(_ w: UnsafeRawPointer, _ x: ByteActivation) -> Float { blockRow(.q5_0, w, x) }

/// Q4_K super-block `s` of a row: each 32-byte run of nibbles holds two 32-value sub-blocks (low nibbles,
/// then high), so run `r` is one 64-value step in value order. Sub-block scales and mins are 6-bit
/// (`KQuant.scaleMin`); `lanes(r)` is d·scale per lane of step `r`, `mins` is dmin·min per sub-block.
struct Q4_KSuperBlock {
    let block: UnsafeRawPointer
    let scales: SIMD8<Float>
    let mins: SIMD8<Float>

    @inline(__always)
    init(_ w: UnsafeRawPointer, _ s: Int) {
        block = w + s &* 144
        let packed = (block + 4).assumingMemoryBound(to: UInt8.self)
        var scale = SIMD8<Float>(), minimum = SIMD8<Float>()
        for j in 0 ..< 8 {
            let (sc, m) = KQuant.scaleMin(packed, j)
            scale[j] = Float(sc)
            minimum[j] = Float(m)
        }
        scales = loadHalf(block) * scale
        mins = loadHalf(block, 2) * minimum
    }

    @inline(__always) func codes(_ r: Int) -> SIMD16<UInt32> {
        let q = block.loadUnaligned(fromByteOffset: 16 + 32 * r, as: SIMD8<UInt32>.self)
        return SIMD16(lowHalf: q & 0x0F0F_0F0F, highHalf: (q &>> 4) & 0x0F0F_0F0F)
    }

    @inline(__always) func lanes(_ r: Int) -> SIMD16<Float> { halves(scales[2 * r], scales[2 * r + 1]) }
}

@inline(never)
func dotQ4_KBytes(_ w: UnsafeRawPointer, _ x: ByteActivation) -> Float {
    var acc = SIMD16<Float>(), mins = SIMD8<Float>()
    for s in 0 ..< x.cols / 256 {
        let block = Q4_KSuperBlock(w, s)
        mins.addProduct(block.mins, UnsafeRawPointer(x.scaledSums + s &* 8).loadUnaligned(as: SIMD8<Float>.self))
        for r in 0 ..< 4 {
            acc = X86Vector.fma(x.products(block.codes(r), pair: 4 &* s &+ r), block.lanes(r) * x.pairScales[4 &* s &+ r], acc)
        }
    }
    return total(acc) - mins.sum()
}

/// Q6_K super-block `s` of a row: per 128-value half, the low nibbles of 64 `ql` bytes are values 0–63
/// and their high nibbles 64–127, in order; the two high bits come from 32 `qh` bytes (bit pairs 0–1, 2–3
/// for the first 64, 4–5, 6–7 for the second). Each 16 values have their own Int8 scale, laid out per
/// four lanes with a permute.
struct Q6_KSuperBlock {
    let block: UnsafeRawPointer
    /// d · scale of each 16-value sub-block.
    let scales: SIMD16<Float>

    @inline(__always)
    init(_ w: UnsafeRawPointer, _ s: Int) {
        block = w + s &* 210
        scales = X86Vector.floats(signedBytes: block.loadUnaligned(fromByteOffset: 192, as: SIMD4<UInt32>.self)) * loadHalf(block, 208)
    }

    /// The codes of step `k` (0–3: values 64k ..< 64k + 64) and its lane scales.
    @inline(__always)
    func step(_ k: Int) -> (codes: SIMD16<UInt32>, lanes: SIMD16<Float>) {
        let h = k / 2
        let ql = loadVector(block, 64 * h)
        let qh = block.loadUnaligned(fromByteOffset: 128 + 32 * h, as: SIMD8<UInt32>.self)
        let codes: SIMD16<UInt32>
        if k % 2 == 0 {
            codes = (ql & 0x0F0F_0F0F) | ((SIMD16(lowHalf: qh, highHalf: qh &>> 2) & 0x0303_0303) &<< 4)
        } else {
            codes = ((ql &>> 4) & 0x0F0F_0F0F) | ((SIMD16(lowHalf: qh &>> 4, highHalf: qh &>> 6) & 0x0303_0303) &<< 4)
        }
        // Lane i of the step belongs to sub-block 4k + i / 4.
        let index = SIMD16<Int32>(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3) &+ Int32(4 * k)
        return (codes, X86Vector.permute(scales, index))
    }

    /// The −32 offset of the codes, per lane: a second `vpdpbusd` against 32s (the activation has sums per
    /// 32 values, the scales change every 16).
    @inline(__always)
    static func offsets(_ x: ByteActivation, pair: Int) -> SIMD16<Float> {
        x.products(SIMD16(repeating: 0x2020_2020), pair: pair)
    }
}

@inline(never)
func dotQ6_KBytes(_ w: UnsafeRawPointer, _ x: ByteActivation) -> Float {
    var acc = SIMD16<Float>()
    for s in 0 ..< x.cols / 256 {
        let block = Q6_KSuperBlock(w, s)
        for k in 0 ..< 4 {
            let (codes, lanes) = block.step(k)
            let pair = 4 &* s &+ k
            acc = X86Vector.fma(x.products(codes, pair: pair) - Q6_KSuperBlock.offsets(x, pair: pair), lanes * x.pairScales[pair], acc)
        }
    }
    return total(acc)
}
#endif
