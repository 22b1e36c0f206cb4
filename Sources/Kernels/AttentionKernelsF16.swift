/// Attention over an F16 key/value cache (`KVCache.Precision.f16`): the same two inner loops as
/// `attentionScores` and `attentionWeightedSum`, reading half the bytes.
///
/// Halves are widened with integer lane operations, not Swift's SIMD conversion initialisers (those
/// compile to outlined calls here): sixteen halves are loaded as eight 32-bit lanes, each lane's low half
/// is the even element and its high half the odd one, and each is moved into a Float's exponent and
/// mantissa bits and scaled by 2¹¹² (`evenAndOddHalves`). So keys are dotted with queries split into even
/// and odd elements, and value sums are kept as even and odd accumulators, put back in order at the end.

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

/// `attentionScores` over F16 keys: `K[p]` is `headSize` halves at `keys + 2 · p · stride` bytes.
public func attentionScoresF16(_ queries: UnsafePointer<Float>, heads: Int, keys: UnsafeRawPointer, stride: Int,
                               count: Int, headSize: Int, scale: Float,
                               into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    precondition((1 ... maxHeadsPerCall).contains(heads))
    guard headSize % 16 == 0 else {
        for h in 0 ..< heads {
            for p in 0 ..< count {
                var total: Float = 0
                for i in 0 ..< headSize { total += queries[h * headSize + i] * half(keys + 2 * p * stride, i) }
                scores[h * scoreStride + p] = total * scale
            }
        }
        return
    }
    scoresF16(queries, heads: heads, keys: keys, stride: stride, count: count, headSize: headSize, scale: scale,
              into: scores, scoreStride: scoreStride)
}

/// Up to eight heads, two keys per step (16 accumulators), queries split into their even and odd
/// elements once per call.
@inline(never)
private func scoresF16(_ queries: UnsafePointer<Float>, heads: Int, keys: UnsafeRawPointer, stride: Int,
                       count: Int, headSize: Int, scale: Float,
                       into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: maxHeadsPerCall * headSize) { buffer in
        guard let split = buffer.baseAddress else { return }
        let half = headSize / 2
        // Head h's even elements, then its odd ones; absent heads repeat the last (not stored).
        for h in 0 ..< maxHeadsPerCall {
            let q = queries + min(h, heads - 1) * headSize, row = split + h * headSize
            for i in 0 ..< half {
                row[i] = q[2 * i]
                row[half + i] = q[2 * i + 1]
            }
        }
        let q = UnsafeRawPointer(split)
        func even(_ h: Int, _ c: Int) -> SIMD8<Float> { q.load(fromByteOffset: 4 * (h * headSize + 8 * c), as: SIMD8<Float>.self) }
        func odd(_ h: Int, _ c: Int) -> SIMD8<Float> { q.load(fromByteOffset: 4 * (h * headSize + half + 8 * c), as: SIMD8<Float>.self) }
        let chunks = headSize / 16
        var p = 0
        while p < count {
            let second = min(p + 1, count - 1)  // an odd last position is computed twice, stored once
            let k0 = keys + 2 * p * stride, k1 = keys + 2 * second * stride
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
            var b4 = SIMD8<Float>(), b5 = SIMD8<Float>(), b6 = SIMD8<Float>(), b7 = SIMD8<Float>()
            for c in 0 ..< chunks {
                let (e0, o0) = evenAndOddHalves(k0.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<UInt32>.self))
                let (e1, o1) = evenAndOddHalves(k1.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<UInt32>.self))
                var x = even(0, c), y = odd(0, c)
                a0.addProduct(x, e0); a0.addProduct(y, o0); b0.addProduct(x, e1); b0.addProduct(y, o1)
                x = even(1, c); y = odd(1, c)
                a1.addProduct(x, e0); a1.addProduct(y, o0); b1.addProduct(x, e1); b1.addProduct(y, o1)
                x = even(2, c); y = odd(2, c)
                a2.addProduct(x, e0); a2.addProduct(y, o0); b2.addProduct(x, e1); b2.addProduct(y, o1)
                x = even(3, c); y = odd(3, c)
                a3.addProduct(x, e0); a3.addProduct(y, o0); b3.addProduct(x, e1); b3.addProduct(y, o1)
                if heads > 4 {
                    x = even(4, c); y = odd(4, c)
                    a4.addProduct(x, e0); a4.addProduct(y, o0); b4.addProduct(x, e1); b4.addProduct(y, o1)
                    x = even(5, c); y = odd(5, c)
                    a5.addProduct(x, e0); a5.addProduct(y, o0); b5.addProduct(x, e1); b5.addProduct(y, o1)
                    x = even(6, c); y = odd(6, c)
                    a6.addProduct(x, e0); a6.addProduct(y, o0); b6.addProduct(x, e1); b6.addProduct(y, o1)
                    x = even(7, c); y = odd(7, c)
                    a7.addProduct(x, e0); a7.addProduct(y, o0); b7.addProduct(x, e1); b7.addProduct(y, o1)
                }
            }
            let first = SIMD8(lowHalf: sums(a0, a1, a2, a3), highHalf: sums(a4, a5, a6, a7)) * scale
            let next = SIMD8(lowHalf: sums(b0, b1, b2, b3), highHalf: sums(b4, b5, b6, b7)) * scale
            for h in 0 ..< heads {
                scores[h * scoreStride + p] = first[h]
                if second > p { scores[h * scoreStride + second] = next[h] }
            }
            p += 2
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
