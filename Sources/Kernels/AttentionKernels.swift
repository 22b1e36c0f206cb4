/// The two inner loops of attention, each one call per (query, group of heads) instead of one call per
/// cached position: a prefill of 512 tokens otherwise makes ~44 million tiny calls.
///
/// Grouped-query attention gives several query heads one key/value head (Qwen2.5-0.5B: 7 per group).
/// These kernels take up to four of those query heads at once, so each cached key and value row is read
/// once for all of them instead of once per head: at 2 048 tokens of context that traffic had cut
/// decode speed by a third.

/// `scores[h · scoreStride + p] = scale · q_h · K[p]` for the `heads` (1…8) query heads stored one
/// after another at `queries`, over `count` positions; `K[p]` starts at `keys + p · stride`.
public func attentionScores(_ queries: UnsafePointer<Float>, heads: Int, keys: UnsafePointer<Float>, stride: Int,
                            count: Int, headSize: Int, scale: Float,
                            into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    precondition((1 ... maxHeadsPerCall).contains(heads))
    if heads <= 4 {
        scoresUpTo4(queries, heads: heads, keys: keys, stride: stride, count: count, headSize: headSize, scale: scale,
                    into: scores, scoreStride: scoreStride)
    } else {
        scoresUpTo8(queries, heads: heads, keys: keys, stride: stride, count: count, headSize: headSize, scale: scale,
                    into: scores, scoreStride: scoreStride)
    }
}

/// How many query heads one attention call takes: Qwen2/2.5's groups of 6–8 heads share a key/value head,
/// so a whole group fits in one call and the cache is read once per group.
public let maxHeadsPerCall = 8

/// One to four heads: the prefill micro-kernel (`dotRows4F32x4`, 4 rows × 4 vectors) with the queries
/// as rows and four keys at a time; 16 independent FMA chains hide the FMA latency (one key at a time
/// ran 1.4× slower).
@inline(never)
private func scoresUpTo4(_ queries: UnsafePointer<Float>, heads: Int, keys: UnsafePointer<Float>, stride: Int,
                         count: Int, headSize: Int, scale: Float,
                         into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * headSize) { buffer in
        withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: 4) { results in
            guard let rows = buffer.baseAddress, let result = results.baseAddress else { return }
            // Four query rows; absent heads repeat the last one (their results are not stored).
            for h in 0 ..< 4 {
                (rows + h * headSize).update(from: queries + min(h, heads - 1) * headSize, count: headSize)
            }
            var p = 0
            while p + 4 <= count {
                dotRows4F32x4(rows, rowStride: headSize, keys + p * stride, stride: stride, count: headSize, into: result)
                for h in 0 ..< heads {
                    let row = scores + h * scoreStride + p
                    let scaled = result[h] * scale
                    row[0] = scaled[0]; row[1] = scaled[1]; row[2] = scaled[2]; row[3] = scaled[3]
                }
                p += 4
            }
            while p < count {
                for h in 0 ..< heads {
                    scores[h * scoreStride + p] = dotF32(UnsafeRawPointer(rows + h * headSize), keys + p * stride, count: headSize) * scale
                }
                p += 1
            }
        }
    }
}

/// `out_h = Σ_p weights_h[p] · V[p]` for the `heads` (1…8) query heads of one group: their weights
/// at `weights + h · weightStride`, their outputs one after another at `out`; `V[p]` starts at
/// `values + p · stride`.
public func attentionWeightedSum(_ weights: UnsafePointer<Float>, weightStride: Int, heads: Int,
                                 values: UnsafePointer<Float>, stride: Int, count: Int, headSize: Int,
                                 into out: UnsafeMutablePointer<Float>) {
    precondition((1 ... maxHeadsPerCall).contains(heads))
    if heads <= 4 {
        weightedSumUpTo4(weights, weightStride: weightStride, heads: heads, values: values, stride: stride, count: count,
                         headSize: headSize, into: out)
    } else {
        weightedSumUpTo8(weights, weightStride: weightStride, heads: heads, values: values, stride: stride, count: count,
                         headSize: headSize, into: out)
    }
}

@inline(never)
private func weightedSumUpTo4(_ weights: UnsafePointer<Float>, weightStride: Int, heads: Int,
                              values: UnsafePointer<Float>, stride: Int, count: Int, headSize: Int,
                              into out: UnsafeMutablePointer<Float>) {
    let w0 = weights, w1 = weights + min(1, heads - 1) * weightStride
    let w2 = weights + min(2, heads - 1) * weightStride, w3 = weights + min(3, heads - 1) * weightStride
    let o = UnsafeMutableRawPointer(out)
    var i = 0
    // 16 values of each head at a time: 8 accumulators, every value row slice loaded once for all heads.
    while i + 16 <= headSize {
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
        for p in 0 ..< count {
            let v = UnsafeRawPointer(values + p * stride)
            let v0 = v.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let v1 = v.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
            let b0 = SIMD8<Float>(repeating: w0[p]), b1 = SIMD8<Float>(repeating: w1[p])
            let b2 = SIMD8<Float>(repeating: w2[p]), b3 = SIMD8<Float>(repeating: w3[p])
            a00.addProduct(b0, v0); a01.addProduct(b0, v1)
            a10.addProduct(b1, v0); a11.addProduct(b1, v1)
            a20.addProduct(b2, v0); a21.addProduct(b2, v1)
            a30.addProduct(b3, v0); a31.addProduct(b3, v1)
        }
        func store(_ head: Int, _ low: SIMD8<Float>, _ high: SIMD8<Float>) {
            guard head < heads else { return }
            o.storeBytes(of: low, toByteOffset: 4 * (head * headSize + i), as: SIMD8<Float>.self)
            o.storeBytes(of: high, toByteOffset: 4 * (head * headSize + i + 8), as: SIMD8<Float>.self)
        }
        store(0, a00, a01); store(1, a10, a11); store(2, a20, a21); store(3, a30, a31)
        i += 16
    }
    // Head sizes that are not a multiple of 16 (none of Qwen's): the rest one value at a time.
    while i < headSize {
        var sums = SIMD4<Float>()
        for p in 0 ..< count {
            sums += SIMD4(w0[p], w1[p], w2[p], w3[p]) * values[p * stride + i]
        }
        for h in 0 ..< heads { out[h * headSize + i] = sums[h] }
        i += 1
    }
}

/// Five to eight heads: two keys per step (16 accumulators).
@inline(never)
private func scoresUpTo8(_ queries: UnsafePointer<Float>, heads: Int, keys: UnsafePointer<Float>, stride: Int,
                         count: Int, headSize: Int, scale: Float,
                         into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    func query(_ h: Int) -> UnsafeRawPointer { UnsafeRawPointer(queries + min(h, heads - 1) * headSize) }
    let q0 = query(0), q1 = query(1), q2 = query(2), q3 = query(3), q4 = query(4), q5 = query(5), q6 = query(6), q7 = query(7)
    var p = 0
    if headSize % 8 == 0 {
        while p + 2 <= count {
            let k0 = UnsafeRawPointer(keys + p * stride), k1 = UnsafeRawPointer(keys + (p + 1) * stride)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
            var b4 = SIMD8<Float>(), b5 = SIMD8<Float>(), b6 = SIMD8<Float>(), b7 = SIMD8<Float>()
            var i = 0
            while i < headSize {
                let o = 4 * i
                let v = k0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                let w = k1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                var x = q0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a0.addProduct(x, v); b0.addProduct(x, w)
                x = q1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a1.addProduct(x, v); b1.addProduct(x, w)
                x = q2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a2.addProduct(x, v); b2.addProduct(x, w)
                x = q3.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a3.addProduct(x, v); b3.addProduct(x, w)
                x = q4.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a4.addProduct(x, v); b4.addProduct(x, w)
                x = q5.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a5.addProduct(x, v); b5.addProduct(x, w)
                x = q6.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a6.addProduct(x, v); b6.addProduct(x, w)
                x = q7.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self); a7.addProduct(x, v); b7.addProduct(x, w)
                i += 8
            }
            let first = SIMD8(lowHalf: sums(a0, a1, a2, a3), highHalf: sums(a4, a5, a6, a7)) * scale
            let second = SIMD8(lowHalf: sums(b0, b1, b2, b3), highHalf: sums(b4, b5, b6, b7)) * scale
            for h in 0 ..< heads {
                scores[h * scoreStride + p] = first[h]
                scores[h * scoreStride + p + 1] = second[h]
            }
            p += 2
        }
    }
    while p < count {
        var total = SIMD8<Float>()
        for i in 0 ..< headSize {
            let o = 4 * i
            total += SIMD8(q0.load(fromByteOffset: o, as: Float.self), q1.load(fromByteOffset: o, as: Float.self),
                           q2.load(fromByteOffset: o, as: Float.self), q3.load(fromByteOffset: o, as: Float.self),
                           q4.load(fromByteOffset: o, as: Float.self), q5.load(fromByteOffset: o, as: Float.self),
                           q6.load(fromByteOffset: o, as: Float.self), q7.load(fromByteOffset: o, as: Float.self))
                * keys[p * stride + i]
        }
        for h in 0 ..< heads { scores[h * scoreStride + p] = total[h] * scale }
        p += 1
    }
}

/// Five to eight heads: 16 values of each per pass over the cached rows (16 accumulators).
@inline(never)
private func weightedSumUpTo8(_ weights: UnsafePointer<Float>, weightStride: Int, heads: Int,
                              values: UnsafePointer<Float>, stride: Int, count: Int, headSize: Int,
                              into out: UnsafeMutablePointer<Float>) {
    func row(_ h: Int) -> UnsafePointer<Float> { weights + min(h, heads - 1) * weightStride }
    let w0 = row(0), w1 = row(1), w2 = row(2), w3 = row(3), w4 = row(4), w5 = row(5), w6 = row(6), w7 = row(7)
    let o = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 16 <= headSize {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var b4 = SIMD8<Float>(), b5 = SIMD8<Float>(), b6 = SIMD8<Float>(), b7 = SIMD8<Float>()
        for p in 0 ..< count {
            let v = UnsafeRawPointer(values + p * stride)
            let lo = v.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let hi = v.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
            var c = SIMD8<Float>(repeating: w0[p]); a0.addProduct(c, lo); b0.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w1[p]); a1.addProduct(c, lo); b1.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w2[p]); a2.addProduct(c, lo); b2.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w3[p]); a3.addProduct(c, lo); b3.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w4[p]); a4.addProduct(c, lo); b4.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w5[p]); a5.addProduct(c, lo); b5.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w6[p]); a6.addProduct(c, lo); b6.addProduct(c, hi)
            c = SIMD8<Float>(repeating: w7[p]); a7.addProduct(c, lo); b7.addProduct(c, hi)
        }
        func store(_ head: Int, _ low: SIMD8<Float>, _ high: SIMD8<Float>) {
            guard head < heads else { return }
            o.storeBytes(of: low, toByteOffset: 4 * (head * headSize + i), as: SIMD8<Float>.self)
            o.storeBytes(of: high, toByteOffset: 4 * (head * headSize + i + 8), as: SIMD8<Float>.self)
        }
        store(0, a0, b0); store(1, a1, b1); store(2, a2, b2); store(3, a3, b3)
        store(4, a4, b4); store(5, a5, b5); store(6, a6, b6); store(7, a7, b7)
        i += 16
    }
    while i < headSize {
        var total = SIMD8<Float>()
        for p in 0 ..< count {
            total += SIMD8(w0[p], w1[p], w2[p], w3[p], w4[p], w5[p], w6[p], w7[p]) * values[p * stride + i]
        }
        for h in 0 ..< heads { out[h * headSize + i] = total[h] }
        i += 1
    }
}
