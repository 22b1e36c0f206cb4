/// The two inner loops of attention, each one call per (query, group of heads) instead of one call per
/// cached position: a prefill of 512 tokens otherwise makes ~44 million tiny calls.
///
/// Grouped-query attention gives several query heads one key/value head (Qwen2.5-0.5B: 7 per group).
/// These kernels take up to four of those query heads at once, so each cached key and value row is read
/// once for all of them instead of once per head: at 2 048 tokens of context that traffic had cut
/// decode speed by a third.

/// `scores[h · scoreStride + p] = scale · q_h · K[p]` for the `heads` (1…4) query heads stored one
/// after another at `queries`, over `count` positions; `K[p]` starts at `keys + p · stride`.
@inline(never)
public func attentionScores(_ queries: UnsafePointer<Float>, heads: Int, keys: UnsafePointer<Float>, stride: Int,
                            count: Int, headSize: Int, scale: Float,
                            into scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    precondition((1 ... 4).contains(heads))
    // Absent heads repeat the last present one; their results are computed and not stored.
    let q0 = UnsafeRawPointer(queries)
    let q1 = UnsafeRawPointer(queries + min(1, heads - 1) * headSize)
    let q2 = UnsafeRawPointer(queries + min(2, heads - 1) * headSize)
    let q3 = UnsafeRawPointer(queries + min(3, heads - 1) * headSize)
    for p in 0 ..< count {
        let k = UnsafeRawPointer(keys + p * stride)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 8 <= headSize {
            let o = 4 * i
            let kv = k.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            a0.addProduct(q0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), kv)
            a1.addProduct(q1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), kv)
            a2.addProduct(q2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), kv)
            a3.addProduct(q3.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), kv)
            i += 8
        }
        var sums = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
        while i < headSize {
            let key = keys[p * stride + i]
            sums += SIMD4(q0.load(fromByteOffset: 4 * i, as: Float.self), q1.load(fromByteOffset: 4 * i, as: Float.self),
                          q2.load(fromByteOffset: 4 * i, as: Float.self), q3.load(fromByteOffset: 4 * i, as: Float.self)) * key
            i += 1
        }
        for h in 0 ..< heads { scores[h * scoreStride + p] = sums[h] * scale }
    }
}

/// `out_h = Σ_p weights_h[p] · V[p]` for the `heads` (1…4) query heads of one group: their weights
/// at `weights + h · weightStride`, their outputs one after another at `out`; `V[p]` starts at
/// `values + p · stride`.
@inline(never)
public func attentionWeightedSum(_ weights: UnsafePointer<Float>, weightStride: Int, heads: Int,
                                 values: UnsafePointer<Float>, stride: Int, count: Int, headSize: Int,
                                 into out: UnsafeMutablePointer<Float>) {
    precondition((1 ... 4).contains(heads))
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
