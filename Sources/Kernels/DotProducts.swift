import ModelFiles

// Row · activation dot products, one `@inline(never)` function per weight type taking raw pointers:
// kernels inlined into closures ran at half speed (../shared/PERFORMANCE.md). Wrapping arithmetic keeps
// LLVM free to vectorise the integer loops.

/// Four consecutive blocks' integer sums and scales, as vectors. Written out for k = 0…3 with the lanes
/// built at once, not as a loop storing `sums[k]`: LLVM does not unroll that loop (the body is large), and
/// an AVX2 build then kept the vector on the stack and reloaded it whole after each 4-byte lane store, a
/// store-forwarding stall per block that halved its decode speed.
@inline(__always)
func fourBlocks(_ block: (Int) -> (sum: Int32, scale: Float)) -> (sums: SIMD4<Int32>, scales: SIMD4<Float>) {
    let a = block(0), b = block(1), c = block(2), d = block(3)
    return (SIMD4(a.sum, b.sum, c.sum, d.sum), SIMD4(a.scale, b.scale, c.scale, d.scale))
}

/// Q8_0 weight row · Q8_0 activation: Σ_blocks d_w · d_x · Σ_i q_w[i] · q_x[i].
///
/// Four blocks per step: their integer sums go into one `SIMD4<Int32>` and meet their scales in one
/// vector FMA, so the float work is not a serial chain of scalar multiply-adds per block (which made
/// this loop latency-bound at ~half the memory bandwidth).
@inline(never)
func dotQ8_0(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc = SIMD4<Float>()
    var b = 0
    while b + 4 <= blocks {
        let (sums, scales) = fourBlocks { k in
            let block = w + (b + k) * Q8_0Block.size
            let q = (block + 2).assumingMemoryBound(to: Int8.self)
            let x = xq + (b + k) * 32
            var sum: Int32 = 0
            for i in 0 ..< 32 { sum &+= Int32(q[i]) &* Int32(x[i]) }
            return (sum, loadHalf(block))
        }
        acc.addProduct(scales * UnsafeRawPointer(xs + b).loadUnaligned(as: SIMD4<Float>.self), SIMD4<Float>(sums))
        b += 4
    }
    var tail: Float = 0
    while b < blocks {
        let block = w + b * Q8_0Block.size
        let q = (block + 2).assumingMemoryBound(to: Int8.self)
        let x = xq + b * 32
        var sum: Int32 = 0
        for i in 0 ..< 32 { sum &+= Int32(q[i]) &* Int32(x[i]) }
        tail += loadHalf(block) * xs[b] * Float(sum)
        b += 1
    }
    return acc.sum() + tail
}

/// Q4_0 weight row · Q8_0 activation. The −8 offset is folded out with the activation's block sums:
/// Σ (n − 8)·x = Σ n·x − 8·Σ x. Four blocks per step, as in `dotQ8_0`.
@inline(never)
func dotQ4_0(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
             blocks: Int) -> Float {
    var acc = SIMD4<Float>()
    var b = 0
    while b + 4 <= blocks {
        let (sums, scales) = fourBlocks { k in
            let block = w + (b + k) * Q4_0Block.size
            let q = (block + 2).assumingMemoryBound(to: UInt8.self)
            let x = xq + (b + k) * 32
            var sum: Int32 = 0
            for j in 0 ..< 16 {
                sum &+= Int32(q[j] & 0x0F) &* Int32(x[j]) &+ Int32(q[j] >> 4) &* Int32(x[j + 16])
            }
            return (sum, loadHalf(block))
        }
        let offsets = UnsafeRawPointer(xsum + b).loadUnaligned(as: SIMD4<Int32>.self) &* 8
        acc.addProduct(scales * UnsafeRawPointer(xs + b).loadUnaligned(as: SIMD4<Float>.self), SIMD4<Float>(sums &- offsets))
        b += 4
    }
    var tail: Float = 0
    while b < blocks {
        let block = w + b * Q4_0Block.size
        let q = (block + 2).assumingMemoryBound(to: UInt8.self)
        let x = xq + b * 32
        var sum: Int32 = 0
        for j in 0 ..< 16 {
            sum &+= Int32(q[j] & 0x0F) &* Int32(x[j]) &+ Int32(q[j] >> 4) &* Int32(x[j + 16])
        }
        tail += loadHalf(block) * xs[b] * Float(sum &- 8 &* xsum[b])
        b += 1
    }
    return acc.sum() + tail
}

// Float-activation kernels: four independent accumulators, so consecutive FMAs do not wait on each
// other's 4-cycle latency (one accumulator capped F16 decode at ~24 GB/s).

@inline(never)
func dotF32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let xr = UnsafeRawPointer(x)
    var i = 0
    while i + 32 <= count {
        a0.addProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        a1.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
        a2.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self))
        a3.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self))
        i += 32
    }
    while i + 8 <= count {
        a0.addProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        i += 8
    }
    var sum = ((a0 + a1) + (a2 + a3)).sum()
    while i < count {
        sum += w.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) * x[i]
        i += 1
    }
    return sum
}

@inline(__always)
private func halves(_ w: UnsafeRawPointer, _ element: Int) -> SIMD8<Float> {
    SIMD8<Float>(w.loadUnaligned(fromByteOffset: 2 * element, as: SIMD8<Float16>.self))
}

@inline(__always)
private func brainHalves(_ w: UnsafeRawPointer, _ element: Int) -> SIMD8<Float> {
    let bits = SIMD8<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * element, as: SIMD8<UInt16>.self))
    return unsafeBitCast(bits &<< 16, to: SIMD8<Float>.self)
}

@inline(never)
func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let xr = UnsafeRawPointer(x)
    var i = 0
    while i + 32 <= count {
        a0.addProduct(halves(w, i), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        a1.addProduct(halves(w, i + 8), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
        a2.addProduct(halves(w, i + 16), xr.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self))
        a3.addProduct(halves(w, i + 24), xr.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self))
        i += 32
    }
    while i + 8 <= count {
        a0.addProduct(halves(w, i), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        i += 8
    }
    var sum = ((a0 + a1) + (a2 + a3)).sum()
    while i < count { sum += loadHalf(w, 2 * i) * x[i]; i += 1 }
    return sum
}

@inline(never)
func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let xr = UnsafeRawPointer(x)
    var i = 0
    while i + 32 <= count {
        a0.addProduct(brainHalves(w, i), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        a1.addProduct(brainHalves(w, i + 8), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
        a2.addProduct(brainHalves(w, i + 16), xr.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self))
        a3.addProduct(brainHalves(w, i + 24), xr.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self))
        i += 32
    }
    while i + 8 <= count {
        a0.addProduct(brainHalves(w, i), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        i += 8
    }
    var sum = ((a0 + a1) + (a2 + a3)).sum()
    while i < count { sum += bf16ToFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * x[i]; i += 1 }
    return sum
}

/// The quantised activation of one token: values, per-block scales and per-block sums.
struct QuantizedRow {
    let values: UnsafePointer<Int16>
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Int32>
}

/// Q4_1 / Q5_0 / Q5_1 weight row · Q8 activation, via Σ (d·n + m)·x = d·Σ n·x + m·Σ x.
@inline(never)
func dotNibble32(_ type: GGMLType, _ w: UnsafeRawPointer, _ x: QuantizedRow, blocks: Int) -> Float {
    var acc: Float = 0
    let size = type.blockBytes
    let hasMin = type != .q5_0
    let fifthBit = type != .q4_1
    let qsOffset = type == .q4_1 ? 4 : (hasMin ? 8 : 6)
    for b in 0 ..< blocks {
        let block = w + b * size
        let q = (block + qsOffset).assumingMemoryBound(to: UInt8.self)
        let qh: UInt32 = fifthBit ? block.loadUnaligned(fromByteOffset: hasMin ? 4 : 2, as: UInt32.self).littleEndian : 0
        let xv = x.values + b * 32
        var sum: Int32 = 0
        for j in 0 ..< 16 {
            let lo = Int32(q[j] & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
            let hi = Int32(q[j] >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
            sum &+= lo &* Int32(xv[j]) &+ hi &* Int32(xv[j + 16])
        }
        let d = loadHalf(block)
        if hasMin {
            acc += x.scales[b] * (d * Float(sum) + loadHalf(block, 2) * Float(x.sums[b]))
        } else {
            acc += x.scales[b] * d * Float(sum &- 16 &* x.sums[b])
        }
    }
    return acc
}

/// Q4_K / Q5_K / Q6_K weight row · Q8 activation. Each 32-weight sub-block meets exactly one activation
/// block, so the sub-block scale and min apply to one integer sum each.
@inline(never)
func dotKQuant(_ type: GGMLType, _ w: UnsafeRawPointer, _ x: QuantizedRow, superBlocks: Int) -> Float {
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { buffer -> Float in
        guard let q = buffer.baseAddress else { return 0 }
        var acc: Float = 0
        for b in 0 ..< superBlocks {
            let block = w + b * type.blockBytes
            if type == .q6_K {
                let d = loadHalf(block, 208)
                let scales = (block + 192).assumingMemoryBound(to: Int8.self)
                for g in 0 ..< 8 {
                    KQuant.q6Group(block, g, q)
                    let xv = x.values + (b * 8 + g) * 32
                    var s0: Int32 = 0, s1: Int32 = 0
                    for l in 0 ..< 16 { s0 &+= q[l] &* Int32(xv[l]) }
                    for l in 16 ..< 32 { s1 &+= q[l] &* Int32(xv[l]) }
                    acc += x.scales[b * 8 + g] * d * Float(Int32(scales[2 * g]) &* s0 &+ Int32(scales[2 * g + 1]) &* s1)
                }
            } else {
                KQuant.forEachSubBlock(fifthBit: type == .q5_K, block, q) { j, scale, offset in
                    let xv = x.values + (b * 8 + j) * 32
                    var sum: Int32 = 0
                    for l in 0 ..< 32 { sum &+= q[l] &* Int32(xv[l]) }
                    acc += x.scales[b * 8 + j] * (scale * Float(sum) - offset * Float(x.sums[b * 8 + j]))
                }
            }
        }
        return acc
    }
}

/// Q5_0 weight row · Q8_0 activation (the bulk of a Qwen2.5-0.5B Q4_K_M file, whose 896-wide rows fall
/// back from Q4_K). Σ (n5 − 16)·x = Σ n5·x − 16·Σ x; four blocks per step as in `dotQ8_0`.
@inline(never)
func dotQ5_0(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
             blocks: Int) -> Float {
    @inline(__always)
    func blockSum(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int16>) -> Int32 {
        let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
        let q = (block + 6).assumingMemoryBound(to: UInt8.self)
        var sum: Int32 = 0
        for j in 0 ..< 16 {
            let lo = Int32(q[j] & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
            let hi = Int32(q[j] >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
            sum &+= lo &* Int32(x[j]) &+ hi &* Int32(x[j + 16])
        }
        return sum
    }
    var acc = SIMD4<Float>()
    var b = 0
    while b + 4 <= blocks {
        let (sums, scales) = fourBlocks { k in
            let block = w + (b + k) * 22
            return (blockSum(block, xq + (b + k) * 32), loadHalf(block))
        }
        let offsets = UnsafeRawPointer(xsum + b).loadUnaligned(as: SIMD4<Int32>.self) &* 16
        acc.addProduct(scales * UnsafeRawPointer(xs + b).loadUnaligned(as: SIMD4<Float>.self), SIMD4<Float>(sums &- offsets))
        b += 4
    }
    var tail: Float = 0
    while b < blocks {
        let block = w + b * 22
        tail += loadHalf(block) * xs[b] * Float(blockSum(block, xq + b * 32) &- 16 &* xsum[b])
        b += 1
    }
    return acc.sum() + tail
}

/// Q4_K weight row · Q8_0 activation, without a temporary buffer: each 32-byte chunk of nibbles feeds
/// two sub-blocks (low and high nibbles) in one loop, and the eight sub-block sums meet their scales
/// and mins as `SIMD8` vectors.
@inline(never)
func dotQ4_K(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
             superBlocks: Int) -> Float {
    var acc = SIMD8<Float>()
    for b in 0 ..< superBlocks {
        let block = w + b * 144
        let packed = (block + 4).assumingMemoryBound(to: UInt8.self)
        var scale = SIMD8<Float>()
        var minimum = SIMD8<Float>()
        // Each 32-byte chunk: two sub-blocks (low and high nibbles). Spelled out per chunk, for the reason
        // given at `fourBlocks`.
        @inline(__always)
        func chunk(_ c: Int) -> (Int32, Int32) {
            let q = (block + 16 + c * 32).assumingMemoryBound(to: UInt8.self)
            let xa = xq + (b * 8 + 2 * c) * 32
            let xb = xa + 32
            var lo: Int32 = 0
            var hi: Int32 = 0
            for l in 0 ..< 32 {
                lo &+= Int32(q[l] & 0x0F) &* Int32(xa[l])
                hi &+= Int32(q[l] >> 4) &* Int32(xb[l])
            }
            return (lo, hi)
        }
        let (s0, s1) = chunk(0), (s2, s3) = chunk(1), (s4, s5) = chunk(2), (s6, s7) = chunk(3)
        let sums = SIMD8<Int32>(s0, s1, s2, s3, s4, s5, s6, s7)
        for j in 0 ..< 8 {
            let (sc, m) = KQuant.scaleMin(packed, j)
            scale[j] = Float(sc)
            minimum[j] = Float(m)
        }
        let x = UnsafeRawPointer(xs + b * 8).loadUnaligned(as: SIMD8<Float>.self)
        let xsums = SIMD8<Float>(UnsafeRawPointer(xsum + b * 8).loadUnaligned(as: SIMD8<Int32>.self))
        let terms = loadHalf(block) * scale * SIMD8<Float>(sums) - loadHalf(block, 2) * minimum * xsums
        acc.addProduct(x, terms)
    }
    return acc.sum()
}

/// Q6_K weight row · Q8_0 activation: per 32-weight group, two 16-weight halves with their own int8
/// scales, accumulated as integers before one float multiply per group. The eight groups are spelled
/// out with literal shift amounts so each inner loop vectorises with constant shifts.
@inline(never)
func dotQ6_K(_ w: UnsafeRawPointer, _ xq: UnsafePointer<Int16>, _ xs: UnsafePointer<Float>, _ xsum: UnsafePointer<Int32>,
             superBlocks: Int) -> Float {
    @inline(__always)
    func group(_ block: UnsafeRawPointer, _ half: Int, _ secondRun: Int, _ lowShift: UInt8, _ highShift: UInt8,
               _ x: UnsafePointer<Int16>, _ scales: UnsafePointer<Int8>, _ g: Int) -> Int32 {
        let ql = (block + half * 64 + secondRun * 32).assumingMemoryBound(to: UInt8.self)
        let qh = (block + 128 + half * 32).assumingMemoryBound(to: UInt8.self)
        var s0: Int32 = 0
        var s1: Int32 = 0
        for l in 0 ..< 16 {
            s0 &+= (Int32(((ql[l] >> lowShift) & 0x0F) | ((qh[l] >> highShift) & 3) << 4) &- 32) &* Int32(x[l])
        }
        for l in 16 ..< 32 {
            s1 &+= (Int32(((ql[l] >> lowShift) & 0x0F) | ((qh[l] >> highShift) & 3) << 4) &- 32) &* Int32(x[l])
        }
        return Int32(scales[2 * g]) &* s0 &+ Int32(scales[2 * g + 1]) &* s1
    }
    var acc = SIMD8<Float>()
    for b in 0 ..< superBlocks {
        let block = w + b * 210
        let scales = (block + 192).assumingMemoryBound(to: Int8.self)
        let x = xq + b * 256
        // Group g = 4·half + quarter: quarter 0/1 read the low nibbles of ql[0..<32]/ql[32..<64],
        // quarter 2/3 their high nibbles; qh bits 2·quarter, 2·quarter + 1.
        let sums = SIMD8<Int32>(
            group(block, 0, 0, 0, 0, x, scales, 0), group(block, 0, 1, 0, 2, x + 32, scales, 1),
            group(block, 0, 0, 4, 4, x + 64, scales, 2), group(block, 0, 1, 4, 6, x + 96, scales, 3),
            group(block, 1, 0, 0, 0, x + 128, scales, 4), group(block, 1, 1, 0, 2, x + 160, scales, 5),
            group(block, 1, 0, 4, 4, x + 192, scales, 6), group(block, 1, 1, 4, 6, x + 224, scales, 7))
        let xsv = UnsafeRawPointer(xs + b * 8).loadUnaligned(as: SIMD8<Float>.self)
        acc.addProduct(xsv * loadHalf(block, 208), SIMD8<Float>(sums))
    }
    return acc.sum()
}

/// Four Float rows · four tokens: sixteen 16-lane accumulators (the 32 vector registers of AVX-512
/// hold them), each weight and activation vector loaded once per four FMAs. 16 lanes rather than 8: the
/// same FMA throughput on Zen 4 in half the instructions, 67–69 GMAC/s on one core against 50–51.
@inline(never)
func dotRows4F32x4(_ w: UnsafePointer<Float>, rowStride: Int, _ x: UnsafePointer<Float>, stride: Int, count: Int,
                   into out: UnsafeMutablePointer<SIMD4<Float>>) {
    let r0 = UnsafeRawPointer(w), r1 = UnsafeRawPointer(w + rowStride)
    let r2 = UnsafeRawPointer(w + 2 * rowStride), r3 = UnsafeRawPointer(w + 3 * rowStride)
    let x0 = UnsafeRawPointer(x), x1 = UnsafeRawPointer(x + stride)
    let x2 = UnsafeRawPointer(x + 2 * stride), x3 = UnsafeRawPointer(x + 3 * stride)
    var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a02 = SIMD16<Float>(), a03 = SIMD16<Float>()
    var a10 = SIMD16<Float>(), a11 = SIMD16<Float>(), a12 = SIMD16<Float>(), a13 = SIMD16<Float>()
    var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a22 = SIMD16<Float>(), a23 = SIMD16<Float>()
    var a30 = SIMD16<Float>(), a31 = SIMD16<Float>(), a32 = SIMD16<Float>(), a33 = SIMD16<Float>()
    var i = 0
    while i + 16 <= count {
        let o = 4 * i
        let w0 = r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        let w1 = r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        let w2 = r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        let w3 = r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        let v0 = x0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        a00.addProduct(w0, v0); a10.addProduct(w1, v0); a20.addProduct(w2, v0); a30.addProduct(w3, v0)
        let v1 = x1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        a01.addProduct(w0, v1); a11.addProduct(w1, v1); a21.addProduct(w2, v1); a31.addProduct(w3, v1)
        let v2 = x2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        a02.addProduct(w0, v2); a12.addProduct(w1, v2); a22.addProduct(w2, v2); a32.addProduct(w3, v2)
        let v3 = x3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        a03.addProduct(w0, v3); a13.addProduct(w1, v3); a23.addProduct(w2, v3); a33.addProduct(w3, v3)
        i += 16
    }
    out[0] = sums(a00, a01, a02, a03)
    out[1] = sums(a10, a11, a12, a13)
    out[2] = sums(a20, a21, a22, a23)
    out[3] = sums(a30, a31, a32, a33)
    while i < count {
        let xv = SIMD4<Float>(x[i], x[stride + i], x[2 * stride + i], x[3 * stride + i])
        for k in 0 ..< 4 { out[k] += w[k * rowStride + i] * xv }
        i += 1
    }
}

/// The totals of four 8-lane accumulators: halves added as vectors first, so each total costs one
/// vector add and three scalar adds instead of seven serial ones.
@inline(__always)
func sums(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>, _ d: SIMD16<Float>) -> SIMD4<Float> {
    sums(a.lowHalf + a.highHalf, b.lowHalf + b.highHalf, c.lowHalf + c.highHalf, d.lowHalf + d.highHalf)
}

@inline(__always)
func sums(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>) -> SIMD4<Float> {
    let ha = a.lowHalf + a.highHalf, hb = b.lowHalf + b.highHalf
    let hc = c.lowHalf + c.highHalf, hd = d.lowHalf + d.highHalf
    return SIMD4(ha.sum(), hb.sum(), hc.sum(), hd.sum())
}
