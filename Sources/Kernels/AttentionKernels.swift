/// The two inner loops of attention, each one call per (query, head) instead of one call per cached
/// position: a prefill of 512 tokens otherwise makes ~44 million tiny calls.

/// `scores[p] = scale · q · K[p]` for `count` positions; `K[p]` starts at `keys + p · stride`.
@inline(never)
public func attentionScores(_ query: UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, count: Int,
                            headSize: Int, scale: Float, into scores: UnsafeMutablePointer<Float>) {
    let q = UnsafeRawPointer(query)
    for p in 0 ..< count {
        let k = UnsafeRawPointer(keys + p * stride)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= headSize {
            a0.addProduct(q.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), k.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            a1.addProduct(q.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self), k.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            i += 16
        }
        var sum = (a0 + a1).sum()
        while i < headSize {
            sum += query[i] * keys[p * stride + i]
            i += 1
        }
        scores[p] = sum * scale
    }
}

/// `out = Σ_p weights[p] · V[p]` over `count` positions; `V[p]` starts at `values + p · stride`.
@inline(never)
public func attentionWeightedSum(_ weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int,
                                 headSize: Int, into out: UnsafeMutablePointer<Float>) {
    out.initialize(repeating: 0, count: headSize)
    let o = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 8 <= headSize {
        var acc = SIMD8<Float>()
        for p in 0 ..< count {
            acc.addProduct(SIMD8<Float>(repeating: weights[p]),
                           UnsafeRawPointer(values + p * stride).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        }
        o.storeBytes(of: acc, toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    while i < headSize {
        var sum: Float = 0
        for p in 0 ..< count { sum += weights[p] * values[p * stride + i] }
        out[i] = sum
        i += 1
    }
}
