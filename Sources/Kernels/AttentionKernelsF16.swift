/// Attention over an F16 key/value cache (`KVCache.Precision.f16`): the same two inner loops as
/// `attentionScores` and `attentionWeightedSum`, reading half the bytes; keys in blocks of 16 positions.
///
/// Halves are widened with integer lane operations, not Swift's SIMD conversion initialisers (those
/// compile to outlined calls here): sixteen halves are loaded as eight 32-bit lanes, each lane's low half
/// is the even element and its high half the odd one, and each is moved into a Float's exponent and
/// mantissa bits and scaled by 2¹¹² (`evenAndOddHalves`). Value sums are kept as even and odd
/// accumulators, put back in order at the end; keys are stored so that a lane's two halves are two
/// positions (0–7 low, 8–15 high), which come out in order.

/// The even and odd elements of 16 consecutive F16 values loaded as 8 lanes, as Floats. Exact for every
/// finite half, subnormals included (the 2¹¹² scale turns a Float subnormal into the half's value);
/// the cache never holds infinities (`storeHalves` clamps).
@inline(__always)
func evenAndOddHalves(_ x: SIMD8<UInt32>) -> (even: SIMD8<Float>, odd: SIMD8<Float>) {
    let magnitude = SIMD8<UInt32>(repeating: 0x0FFF_E000), sign = SIMD8<UInt32>(repeating: 0x8000_0000)
    let even = ((x &<< 13) & magnitude) | ((x &<< 16) & sign)
    let odd = ((x &>> 3) & magnitude) | (x & sign)
    let scale = SIMD8<Float>(repeating: 0x1p112)
    return (unsafeBitCast(even, to: SIMD8<Float>.self) * scale, unsafeBitCast(odd, to: SIMD8<Float>.self) * scale)
}

/// Stores `count` Floats as F16 bit patterns, rounded to nearest and clamped to ±65504 (a key or value
/// beyond F16's range is kept at its largest, not turned into infinity).
public func storeHalves(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0 ..< count {
        out[i] = Float16(min(max(x[i], -65504), 65504)).bitPattern
    }
}

/// One F16 value, for the tails the vector loops do not cover.
@inline(__always)
private func half(_ base: UnsafeRawPointer, _ index: Int) -> Float {
    Float(Float16(bitPattern: base.load(fromByteOffset: 2 * index, as: UInt16.self)))
}

/// `attentionScores` over F16 keys stored in blocks of 16 positions (`KVCache.keyBlocks`): block b holds
/// `headSize` rows of 16 halves, row d being element d of positions 16b … 16b + 15, position 16b + l at
/// slot (l mod 8)·2 + l / 8. Loaded as eight 32-bit lanes, a row's low halves are positions 0–7 of the
/// block and its high halves 8–15, so each (broadcast) query element times one row updates 16 scores at
/// once: no horizontal sums, and two vector stores per head and block. The scores of a last, partial
/// block's empty slots are written too (up to `scoreStride`, which must reach the next multiple of 16)
/// and never used.
public func attentionScoresF16(_ queries: UnsafePointer<Float>, heads: Int, keyBlocks: UnsafeRawPointer,
                               count: Int, headSize: Int, scale: Float,
                               into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    precondition((1 ... maxHeadsPerCall).contains(heads) && scoreStride >= (count + 15) / 16 * 16)
    blockedScoresF16(queries, heads: heads, keyBlocks: keyBlocks, count: count, headSize: headSize, scale: scale,
                     into: scores, scoreStride: scoreStride)
}

/// Up to eight heads per pass over the blocks: two accumulators (positions 0–7, 8–15) per head.
@inline(never)
private func blockedScoresF16(_ queries: UnsafePointer<Float>, heads: Int, keyBlocks: UnsafeRawPointer,
                              count: Int, headSize: Int, scale: Float,
                              into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    func query(_ h: Int) -> UnsafePointer<Float> { queries + min(h, heads - 1) * headSize }
    let q = (query(0), query(1), query(2), query(3), query(4), query(5), query(6), query(7))
    let out = UnsafeMutableRawPointer(scores)
    let scaled = SIMD8<Float>(repeating: scale)
    for block in 0 ..< (count + 15) / 16 {
        // Row d of a block: element d of its 16 positions, positions 0–7 in the low halves.
        let sums = HalfRowSums(q, heads: heads, rows: keyBlocks + block * 32 * headSize, step: 32, count: headSize)
        for h in 0 ..< heads {
            let (low, high) = sums[h]
            let offset = 4 * (h * scoreStride + 16 * block)
            out.storeBytes(of: low * scaled, toByteOffset: offset, as: SIMD8<Float>.self)
            out.storeBytes(of: high * scaled, toByteOffset: offset + 32, as: SIMD8<Float>.self)
        }
    }
}

/// `attentionWeightedSum` over F16 values: `V[p]` is `headSize` halves at `values + 2 · p · stride` bytes.
public func attentionWeightedSumF16(_ weights: UnsafePointer<Float>, weightStride: Int, heads: Int,
                                    values: UnsafeRawPointer, stride: Int, count: Int, headSize: Int,
                                    into out: UnsafeMutablePointer<Float>) {
    precondition((1 ... maxHeadsPerCall).contains(heads))
    guard headSize % 16 == 0 else {
        for h in 0 ..< heads {
            for i in 0 ..< headSize {
                var total: Float = 0
                for p in 0 ..< count { total += weights[h * weightStride + p] * half(values + 2 * p * stride, i) }
                out[h * headSize + i] = total
            }
        }
        return
    }
    weightedSumF16(weights, weightStride: weightStride, heads: heads, values: values, stride: stride, count: count,
                   headSize: headSize, into: out)
}

/// Up to eight heads, 16 values of each per pass over the cached rows: even and odd accumulators per
/// head (16), interleaved back into order when the pass ends.
@inline(never)
private func weightedSumF16(_ weights: UnsafePointer<Float>, weightStride: Int, heads: Int,
                            values: UnsafeRawPointer, stride: Int, count: Int, headSize: Int,
                            into out: UnsafeMutablePointer<Float>) {
    func row(_ h: Int) -> UnsafePointer<Float> { weights + min(h, heads - 1) * weightStride }
    let w = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
    for c in 0 ..< headSize / 16 {
        // Elements 16c … 16c + 15 of every value row: the even ones in the low halves.
        let sums = HalfRowSums(w, heads: heads, rows: values + 32 * c, step: 2 * stride, count: count)
        for h in 0 ..< heads {
            let (even, odd) = sums[h]
            let o = out + h * headSize + 16 * c
            for j in 0 ..< 8 {
                o[2 * j] = even[j]
                o[2 * j + 1] = odd[j]
            }
        }
    }
}

/// The inner loop of both F16 kernels: for up to eight heads, Σₜ sₕ[t] · row t, over `count` rows of 16
/// halves, `step` bytes apart, each split into its low and high halves (`evenAndOddHalves`). A score is
/// Σ_d q[d] · (element d of 16 keys); a value sum is Σ_p w[p] · (16 elements of value row p). Sixteen
/// accumulators, every row loaded and widened once for all heads; heads 5–8 are skipped for a group of
/// four or fewer.
struct HalfRowSums {
    private var low0 = SIMD8<Float>(), low1 = SIMD8<Float>(), low2 = SIMD8<Float>(), low3 = SIMD8<Float>()
    private var low4 = SIMD8<Float>(), low5 = SIMD8<Float>(), low6 = SIMD8<Float>(), low7 = SIMD8<Float>()
    private var high0 = SIMD8<Float>(), high1 = SIMD8<Float>(), high2 = SIMD8<Float>(), high3 = SIMD8<Float>()
    private var high4 = SIMD8<Float>(), high5 = SIMD8<Float>(), high6 = SIMD8<Float>(), high7 = SIMD8<Float>()

    typealias Scalars = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                         UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)

    @inline(__always)
    init(_ s: Scalars, heads: Int, rows: UnsafeRawPointer, step: Int, count: Int) {
        var row = rows
        for t in 0 ..< count {
            let (low, high) = evenAndOddHalves(row.loadUnaligned(as: SIMD8<UInt32>.self))
            row += step
            var x = SIMD8<Float>(repeating: s.0[t]); low0.addProduct(x, low); high0.addProduct(x, high)
            x = SIMD8<Float>(repeating: s.1[t]); low1.addProduct(x, low); high1.addProduct(x, high)
            x = SIMD8<Float>(repeating: s.2[t]); low2.addProduct(x, low); high2.addProduct(x, high)
            x = SIMD8<Float>(repeating: s.3[t]); low3.addProduct(x, low); high3.addProduct(x, high)
            if heads > 4 {
                x = SIMD8<Float>(repeating: s.4[t]); low4.addProduct(x, low); high4.addProduct(x, high)
                x = SIMD8<Float>(repeating: s.5[t]); low5.addProduct(x, low); high5.addProduct(x, high)
                x = SIMD8<Float>(repeating: s.6[t]); low6.addProduct(x, low); high6.addProduct(x, high)
                x = SIMD8<Float>(repeating: s.7[t]); low7.addProduct(x, low); high7.addProduct(x, high)
            }
        }
    }

    /// Head `h`'s sums of the low and high halves.
    @inline(__always)
    subscript(_ h: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        switch h {
        case 0: return (low0, high0)
        case 1: return (low1, high1)
        case 2: return (low2, high2)
        case 3: return (low3, high3)
        case 4: return (low4, high4)
        case 5: return (low5, high5)
        case 6: return (low6, high6)
        default: return (low7, high7)
        }
    }
}
