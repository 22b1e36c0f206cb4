/// An activation matrix (`tokens × length`) quantised to Q8_0 form once per mat-mul, so every weight row is
/// dotted against it in integer arithmetic (llama.cpp's scheme).
///
/// Values are stored pre-widened to Int16: the int8·int8 dot then compiles to `vpmaddwd` without a
/// widening shuffle per block (see ../shared/PERFORMANCE.md). Scales stay in Float (ggml rounds them to
/// f16; keeping f32 loses nothing and is slightly more accurate).
public final class ActivationQ8 {
    public private(set) var values: UnsafeMutablePointer<Int16>
    public private(set) var scales: UnsafeMutablePointer<Float>
    /// Σ of the quantised values of each block: folds a format's constant offset or min out of the dot
    /// product (Σ (n − 8)·x = Σ n·x − 8·Σ x).
    public private(set) var sums: UnsafeMutablePointer<Int32>
    /// The same values as Int8: what the byte-dot kernels read, 64 per step (`ByteDotProducts`).
    public private(set) var bytes: UnsafeMutablePointer<Int8>
    /// Per block, scale × Σ values: a weight format's offset term is d · this (`BlockPairFormat`).
    public private(set) var scaledSums: UnsafeMutablePointer<Float>
    /// Per 64 values, the two blocks' scales each repeated over eight lanes: the lane layout of the byte-dot
    /// kernels' products, so a lane scale is one multiply by the weight side's (filled only where those
    /// kernels are compiled in, and only when a token's length is a multiple of 64).
    public private(set) var pairScales: UnsafeMutablePointer<SIMD16<Float>>
    private var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 32)
        (values, scales, sums, bytes, scaledSums, pairScales) = Self.buffers(for: self.capacity)
    }

    /// Every buffer for `capacity` values.
    private static func buffers(for capacity: Int) -> (UnsafeMutablePointer<Int16>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>,
                                                       UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<SIMD16<Float>>) {
        (.allocate(capacity: capacity), .allocate(capacity: capacity / 32), .allocate(capacity: capacity / 32),
         .allocate(capacity: capacity), .allocate(capacity: capacity / 32), .allocate(capacity: capacity / 64 + 1))
    }

    private func deallocateBuffers() {
        values.deallocate()
        scales.deallocate()
        sums.deallocate()
        bytes.deallocate()
        scaledSums.deallocate()
        pairScales.deallocate()
    }

    deinit {
        deallocateBuffers()
    }

    /// What the buffers hold: the source, token count and row length of the last `quantize`.
    private var holding: (source: UnsafePointer<Float>, tokens: Int, length: Int)?

    /// Quantises `tokens` rows of `length` Floats (length a multiple of 32), split over `pool` by token.
    public func quantize(_ x: UnsafePointer<Float>, tokens: Int, length: Int, pool: ThreadPool? = nil) {
        let total = tokens * length
        if total > capacity {
            deallocateBuffers()
            capacity = total
            (values, scales, sums, bytes, scaledSums, pairScales) = Self.buffers(for: total)
        }
        let (values, scales, sums, bytes, scaledSums) = (self.values, self.scales, self.sums, self.bytes, self.scaledSums)
        #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
        let pairScales = length % 64 == 0 ? self.pairScales : nil
        #else
        let pairScales: UnsafeMutablePointer<SIMD16<Float>>? = nil
        #endif
        let blocksPerToken = length / 32
        func quantizeTokens(_ start: Int, _ end: Int) {
            let first = start * blocksPerToken, count = (end - start) * blocksPerToken
            quantizeQ8(x + first * 32, values + first * 32, scales + first, sums + first, bytes + first * 32, blocks: count)
            for b in first ..< first + count { scaledSums[b] = scales[b] * Float(sums[b]) }
            if let pairScales {
                for p in first / 2 ..< (first + count) / 2 {
                    pairScales[p] = SIMD16(lowHalf: SIMD8(repeating: scales[2 * p]), highHalf: SIMD8(repeating: scales[2 * p + 1]))
                }
            }
        }
        if let pool, tokens > 1 {
            pool.parallelFor(tokens) { start, end in quantizeTokens(start, end) }
        } else {
            quantizeTokens(0, tokens)
        }
        holding = (x, tokens, length)
    }

    /// Whether the buffers hold `x` (`tokens` × `length`) as quantised by the last `quantize`. Only the
    /// caller knows whether `x`'s contents changed since; `WeightMatrix.multiply` asks this only when
    /// told the activation is unchanged (the Q/K/V and gate/up mat-muls share one input).
    func holds(_ x: UnsafePointer<Float>, tokens: Int, length: Int) -> Bool {
        guard let holding else { return false }
        return holding.source == x && holding.tokens == tokens && holding.length == length
    }

    /// The last `quantize` result as the panel kernels read it (`length` as passed to `quantize`).
    func quantized(length: Int) -> QuantizedActivation {
        QuantizedActivation(values: values, scales: scales, sums: sums, cols: length)
    }
}

/// Q8_0 quantisation of `blocks` 32-value blocks, rounding to nearest, ties to even: what llama.cpp's
/// x86 quantiser does (`_mm256_round_ps`; its scalar reference rounds ties away from zero). Written in
/// whole-vector operations, with the magic-number rounding (adding 1.5·2²³ leaves the rounded integer in
/// the low mantissa bits) instead of `rounded()` + `Int32(_:)`, whose NaN and range checks kept LLVM
/// from vectorising: the scalar form was 12% of a 512-token prefill.
@inline(never)
func quantizeQ8(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int16>, _ s: UnsafeMutablePointer<Float>,
                _ sums: UnsafeMutablePointer<Int32>, _ bytes: UnsafeMutablePointer<Int8>, blocks: Int) {
    // |v| as bits: for non-negative floats the bit patterns order like the values, so the block's
    // largest magnitude is an integer max (no NaN-aware float compare to stop vectorisation).
    @inline(__always) func magnitudeBits(_ v: SIMD16<Float>) -> SIMD16<UInt32> {
        unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF
    }
    @inline(__always) func roundedToInt(_ v: SIMD16<Float>) -> SIMD16<Int32> {
        unsafeBitCast(v + 12_582_912, to: SIMD16<Int32>.self) &- 0x4B40_0000
    }
    for b in 0 ..< blocks {
        let xb = UnsafeRawPointer(x + b * 32)
        let v0 = xb.loadUnaligned(as: SIMD16<Float>.self), v1 = xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let a0 = magnitudeBits(v0), a1 = magnitudeBits(v1)
        var m16 = SIMD16<UInt32>()
        for i in 0 ..< 16 { m16[i] = a0[i] > a1[i] ? a0[i] : a1[i] }
        var m = m16[0]
        for i in 1 ..< 16 { m = m16[i] > m ? m16[i] : m }
        let amax = Float(bitPattern: m)
        let d = amax / 127
        let inv: Float = d == 0 ? 0 : 1 / d
        s[b] = d
        let r0 = roundedToInt(v0 * inv), r1 = roundedToInt(v1 * inv)
        let out = q + b * 32
        for i in 0 ..< 16 { out[i] = Int16(truncatingIfNeeded: r0[i]) }
        for i in 0 ..< 16 { out[i + 16] = Int16(truncatingIfNeeded: r1[i]) }
        let outBytes = bytes + b * 32
        for i in 0 ..< 16 { outBytes[i] = Int8(truncatingIfNeeded: r0[i]) }
        for i in 0 ..< 16 { outBytes[i + 16] = Int8(truncatingIfNeeded: r1[i]) }
        let total = r0 &+ r1
        let t8 = total.lowHalf &+ total.highHalf
        let t4 = t8.lowHalf &+ t8.highHalf
        sums[b] = t4[0] &+ t4[1] &+ t4[2] &+ t4[3]
    }
}
