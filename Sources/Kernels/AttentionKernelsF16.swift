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
    let q0 = query(0), q1 = query(1), q2 = query(2), q3 = query(3), q4 = query(4), q5 = query(5), q6 = query(6), q7 = query(7)
    let out = UnsafeMutableRawPointer(scores)
    let scaled = SIMD8<Float>(repeating: scale)
    for block in 0 ..< (count + 15) / 16 {
        var rows = keyBlocks + block * 32 * headSize
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var b4 = SIMD8<Float>(), b5 = SIMD8<Float>(), b6 = SIMD8<Float>(), b7 = SIMD8<Float>()
        for d in 0 ..< headSize {
            let (low, high) = evenAndOddHalves(rows.load(as: SIMD8<UInt32>.self))
            rows += 32
            var x = SIMD8<Float>(repeating: q0[d]); a0.addProduct(x, low); b0.addProduct(x, high)
            x = SIMD8<Float>(repeating: q1[d]); a1.addProduct(x, low); b1.addProduct(x, high)
            x = SIMD8<Float>(repeating: q2[d]); a2.addProduct(x, low); b2.addProduct(x, high)
            x = SIMD8<Float>(repeating: q3[d]); a3.addProduct(x, low); b3.addProduct(x, high)
            if heads > 4 {
                x = SIMD8<Float>(repeating: q4[d]); a4.addProduct(x, low); b4.addProduct(x, high)
                x = SIMD8<Float>(repeating: q5[d]); a5.addProduct(x, low); b5.addProduct(x, high)
                x = SIMD8<Float>(repeating: q6[d]); a6.addProduct(x, low); b6.addProduct(x, high)
                x = SIMD8<Float>(repeating: q7[d]); a7.addProduct(x, low); b7.addProduct(x, high)
            }
        }
        func store(_ head: Int, _ low: SIMD8<Float>, _ high: SIMD8<Float>) {
            guard head < heads else { return }
            let offset = 4 * (head * scoreStride + 16 * block)
            out.storeBytes(of: low * scaled, toByteOffset: offset, as: SIMD8<Float>.self)
            out.storeBytes(of: high * scaled, toByteOffset: offset + 32, as: SIMD8<Float>.self)
        }
        store(0, a0, b0); store(1, a1, b1); store(2, a2, b2); store(3, a3, b3)
        store(4, a4, b4); store(5, a5, b5); store(6, a6, b6); store(7, a7, b7)
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
    let w0 = row(0), w1 = row(1), w2 = row(2), w3 = row(3), w4 = row(4), w5 = row(5), w6 = row(6), w7 = row(7)
    for c in 0 ..< headSize / 16 {
        var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
        var e4 = SIMD8<Float>(), e5 = SIMD8<Float>(), e6 = SIMD8<Float>(), e7 = SIMD8<Float>()
        var o0 = SIMD8<Float>(), o1 = SIMD8<Float>(), o2 = SIMD8<Float>(), o3 = SIMD8<Float>()
        var o4 = SIMD8<Float>(), o5 = SIMD8<Float>(), o6 = SIMD8<Float>(), o7 = SIMD8<Float>()
        var v = values + 32 * c
        let step = 2 * stride
        for p in 0 ..< count {
            let (even, odd) = evenAndOddHalves(v.loadUnaligned(as: SIMD8<UInt32>.self))
            v += step
            var x = SIMD8<Float>(repeating: w0[p]); e0.addProduct(x, even); o0.addProduct(x, odd)
            x = SIMD8<Float>(repeating: w1[p]); e1.addProduct(x, even); o1.addProduct(x, odd)
            x = SIMD8<Float>(repeating: w2[p]); e2.addProduct(x, even); o2.addProduct(x, odd)
            x = SIMD8<Float>(repeating: w3[p]); e3.addProduct(x, even); o3.addProduct(x, odd)
            if heads > 4 {
                x = SIMD8<Float>(repeating: w4[p]); e4.addProduct(x, even); o4.addProduct(x, odd)
                x = SIMD8<Float>(repeating: w5[p]); e5.addProduct(x, even); o5.addProduct(x, odd)
                x = SIMD8<Float>(repeating: w6[p]); e6.addProduct(x, even); o6.addProduct(x, odd)
                x = SIMD8<Float>(repeating: w7[p]); e7.addProduct(x, even); o7.addProduct(x, odd)
            }
        }
        func store(_ head: Int, _ even: SIMD8<Float>, _ odd: SIMD8<Float>) {
            guard head < heads else { return }
            let o = out + head * headSize + 16 * c
            for j in 0 ..< 8 {
                o[2 * j] = even[j]
                o[2 * j + 1] = odd[j]
            }
        }
        store(0, e0, o0); store(1, e1, o1); store(2, e2, o2); store(3, e3, o3)
        store(4, e4, o4); store(5, e5, o5); store(6, e6, o6); store(7, e7, o7)
    }
}
