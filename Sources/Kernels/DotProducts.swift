// Row · activation dot products, one `@inline(never)` function per weight type taking raw pointers:
// kernels inlined into closures ran at half speed (../shared/PERFORMANCE.md). Wrapping arithmetic keeps
// LLVM free to vectorise the integer loops.

/// Q8_0 weight row · Q8_0 activation: Σ_blocks d_w · d_x · Σ_i q_w[i] · q_x[i].
@inline(never)
func dotQ8_0(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc: Float = 0
    for b in 0 ..< blocks {
        let block = w + b * Q8_0Block.size
        let q = (block + 2).assumingMemoryBound(to: Int8.self)
        let x = xq + b * 32
        var sum: Int32 = 0
        for i in 0 ..< 32 { sum &+= Int32(q[i]) &* Int32(x[i]) }
        acc += loadHalf(block) * xs[b] * Float(sum)
    }
    return acc
}

/// Q4_0 weight row · Q8_0 activation. The −8 offset is folded out: Σ (n − 8)·x = Σ n·x − 8·Σ x.
@inline(never)
func dotQ4_0(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc: Float = 0
    for b in 0 ..< blocks {
        let block = w + b * Q4_0Block.size
        let q = (block + 2).assumingMemoryBound(to: UInt8.self)
        let x = xq + b * 32
        var sum: Int32 = 0
        var xsum: Int32 = 0
        for j in 0 ..< 16 {
            let byte = Int32(q[j])
            let lo = Int32(x[j])
            let hi = Int32(x[j + 16])
            sum &+= (byte & 0x0F) &* lo &+ (byte >> 4) &* hi
            xsum &+= lo &+ hi
        }
        acc += loadHalf(block) * xs[b] * Float(sum &- 8 &* xsum)
    }
    return acc
}

@inline(never)
func dotF32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    let wf = w.assumingMemoryBound(to: Float.self)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        acc.addProduct(UnsafeRawPointer(wf + i).loadUnaligned(as: SIMD8<Float>.self),
                       UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        i += 8
    }
    var sum = acc.sum()
    while i < count { sum += wf[i] * x[i]; i += 1 }
    return sum
}

@inline(never)
func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let h = w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)
        var wv = SIMD8<Float>()
        for l in 0 ..< 8 { wv[l] = Float(Float16(bitPattern: h[l])) }
        acc.addProduct(wv, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        i += 8
    }
    var sum = acc.sum()
    while i < count { sum += loadHalf(w, 2 * i) * x[i]; i += 1 }
    return sum
}

@inline(never)
func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let h = SIMD8<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
        let wv = unsafeBitCast(h &<< 16, to: SIMD8<Float>.self)
        acc.addProduct(wv, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
        i += 8
    }
    var sum = acc.sum()
    while i < count { sum += bf16ToFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * x[i]; i += 1 }
    return sum
}
