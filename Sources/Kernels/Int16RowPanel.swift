import ModelFiles

// Legend: R = 32 rows of one panel, K columns, G values per scale group (32, or 16 for Q6_K), T tokens.

/// Prefill's integer mat-mat: 32 weight rows re-laid out as Int16 so that one 512-bit `vpmullw`
/// multiplies 16 rows × 2 columns by a broadcast pair of 8-bit activation values, and `vpaddw`
/// accumulates in 16 bits.
///
/// Why this layout: a dot product with the rows along the vector lanes needs no horizontal sum per
/// block (a row's 32 products land in its own two lanes), so the per-block scale is one vector FMA per
/// 16 rows. Int16 multiplies do 32 products per instruction, twice a Float FMA's 16; LLVM emits
/// `vpmullw`/`vpaddw` from plain `SIMD32<Int16>` arithmetic (it never emits `vpmaddubsw` or `vpdpbusd`
/// from Swift). Measured on one core (896 × 1024 rows, 128 tokens): 132–143 GMAC/s, against 51–55 for
/// the Float 4 × 4 tile.
///
/// Why it is exact: each lane adds G/2 products of a weight value |w| ≤ 2^(bits−1) and an activation
/// |x| ≤ 127, which must stay within Int16. Offsets are taken out of unsigned nibbles (n − 8, n − 16,
/// n6 − 32) and folded into a per-group bias, so the bound holds for every format here:
/// Q4 16·8·127 = 16 256, Q5 16·16·127 = 32 512, Q6_K 8·32·127 = 32 512. Q8_0 (16·128·127) does not fit
/// and keeps the Float path.
///
/// Memory, per group of G columns: `[G/2 steps][2 row halves][16 rows × 2 columns] Int16`, then
/// `[2 row halves][32 lanes] Float` scales (each row's scale in both of its lanes), then, for formats
/// with a minimum or offset, `[2 row halves][32 lanes] Float` biases (in the row's first lane only).
struct Int16RowPanel {
    static let rows = 32

    let type: GGMLType
    let cols: Int
    /// Values sharing one scale: 32, or 16 for Q6_K's 16-value sub-blocks.
    let groupSize: Int
    let groups: Int
    /// Whether groups carry an additive bias (a format's minimum, or the offset taken out of n).
    let hasBias: Bool
    let groupBytes: Int
    var byteCount: Int { groups * groupBytes }
    var stepsPerGroup: Int { groupSize / 2 }

    /// The panel layout for `type`, or nil when its values do not fit Int16 accumulation (Q8_0) or are
    /// not integers (F32/F16/BF16).
    init?(type: GGMLType, cols: Int) {
        switch type {
        case .q4_0, .q5_0: hasBias = false; groupSize = 32
        case .q4_1, .q5_1, .q4_K, .q5_K: hasBias = true; groupSize = 32
        case .q6_K: hasBias = false; groupSize = 16
        default: return nil
        }
        guard cols % type.blockSize == 0, cols % 32 == 0 else { return nil }
        self.type = type
        self.cols = cols
        groups = cols / groupSize
        groupBytes = groupSize / 2 * 128 + 256 + (hasBias ? 256 : 0)
    }

    /// Lays out rows `first ..< first + count` of `matrix` (count ≤ 32) into `panel`; missing rows repeat
    /// the last one, so a short final panel needs no separate kernel. `values` (4 × `cols`), `scales` and
    /// `biases` (4 × `groups` each) are scratch for the four rows decoded at a time.
    ///
    /// Rows are decoded four at a time and their value pairs transposed 4 × 4 (`SIMD4<UInt32>`), so each
    /// store writes four rows' lanes at once: storing one row's pairs one by one (16 scattered 4-byte
    /// stores per 32 values) was 18% of a 512-token prefill.
    func fill(_ panel: UnsafeMutableRawPointer, from matrix: WeightMatrix, first: Int, count: Int,
              values: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>, biases: UnsafeMutablePointer<Float>) {
        let stepBytes = 128
        let valueBytes = stepsPerGroup * stepBytes
        let rowValueBytes = cols * 2
        for quad in stride(from: 0, to: Self.rows, by: 4) {
            for k in 0 ..< 4 {
                decodeRow(matrix.data + (first + min(quad + k, count - 1)) * matrix.rowBytes, values: values + k * cols,
                          scales: scales + k * groups, biases: biases + k * groups)
            }
            // The quad's four rows own eight consecutive lanes of each group's scales (each row's scale in
            // both of its lanes) and biases (first lane only): one vector store each, not 8 scalar ones.
            let lanes = (quad / 16) * 128 + (quad % 16) * 8
            for g in 0 ..< groups {
                let base = panel + g * groupBytes + valueBytes + lanes
                let s0 = scales[g], s1 = scales[groups + g], s2 = scales[2 * groups + g], s3 = scales[3 * groups + g]
                base.storeBytes(of: SIMD8<Float>(s0, s0, s1, s1, s2, s2, s3, s3), as: SIMD8<Float>.self)
                if hasBias {
                    let b0 = biases[g], b1 = biases[groups + g], b2 = biases[2 * groups + g], b3 = biases[3 * groups + g]
                    base.storeBytes(of: SIMD8<Float>(b0, 0, b1, 0, b2, 0, b3, 0), toByteOffset: 256, as: SIMD8<Float>.self)
                }
            }
            let laneBytes = (quad / 16) * 64 + (quad % 16) * 4
            let rows = UnsafeRawPointer(values)
            for g in 0 ..< groups {
                let base = panel + g * groupBytes + laneBytes
                let column = g * groupSize * 2
                for s in stride(from: 0, to: stepsPerGroup, by: 4) {
                    let offset = column + 4 * s
                    transposeStore(rows.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt32>.self),
                                   rows.loadUnaligned(fromByteOffset: rowValueBytes + offset, as: SIMD4<UInt32>.self),
                                   rows.loadUnaligned(fromByteOffset: 2 * rowValueBytes + offset, as: SIMD4<UInt32>.self),
                                   rows.loadUnaligned(fromByteOffset: 3 * rowValueBytes + offset, as: SIMD4<UInt32>.self),
                                   to: base + s * stepBytes, stride: stepBytes)
                }
            }
        }
    }

    /// One row as signed Int16 values with a scale (and bias) per group: w = scale · value + bias.
    func decodeRow(_ src: UnsafeRawPointer, values: UnsafeMutablePointer<Int16>,
                   scales: UnsafeMutablePointer<Float>, biases: UnsafeMutablePointer<Float>) {
        switch type {
        case .q4_0: decodeNibbleRow(src, values, scales, biases, hasMin: false, fifthBit: false)
        case .q4_1: decodeNibbleRow(src, values, scales, biases, hasMin: true, fifthBit: false)
        case .q5_0: decodeNibbleRow(src, values, scales, biases, hasMin: false, fifthBit: true)
        case .q5_1: decodeNibbleRow(src, values, scales, biases, hasMin: true, fifthBit: true)
        case .q4_K, .q5_K:
            let offset: Int32 = type == .q5_K ? 16 : 8
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { buffer in
                guard let q = buffer.baseAddress else { return }
                for b in 0 ..< cols / 256 {
                    KQuant.forEachSubBlock(fifthBit: type == .q5_K, src + b * type.blockBytes, q) { j, scale, minimum in
                        let v = values + (b * 8 + j) * 32
                        for l in 0 ..< 32 { v[l] = Int16(truncatingIfNeeded: q[l] &- offset) }
                        scales[b * 8 + j] = scale
                        biases[b * 8 + j] = Float(offset) * scale - minimum
                    }
                }
            }
        case .q6_K:
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { buffer in
                guard let q = buffer.baseAddress else { return }
                for b in 0 ..< cols / 256 {
                    let block = src + b * type.blockBytes
                    let d = loadHalf(block, 208)
                    let subScales = (block + 192).assumingMemoryBound(to: Int8.self)
                    for g in 0 ..< 8 {
                        KQuant.q6Group(block, g, q)
                        let v = values + (b * 8 + g) * 32
                        for l in 0 ..< 32 { v[l] = Int16(truncatingIfNeeded: q[l]) }
                        scales[b * 16 + 2 * g] = d * Float(subScales[2 * g])
                        scales[b * 16 + 2 * g + 1] = d * Float(subScales[2 * g + 1])
                    }
                }
            }
        default:
            preconditionFailure("Int16RowPanel: \(type.name) has no panel layout")
        }
    }

    /// The 32-value formats; the flags are literals at every call site, so each format gets its own
    /// vectorised loop (one loop testing them per value ran scalar).
    @inline(__always)
    private func decodeNibbleRow(_ src: UnsafeRawPointer, _ values: UnsafeMutablePointer<Int16>, _ scales: UnsafeMutablePointer<Float>,
                                 _ biases: UnsafeMutablePointer<Float>, hasMin: Bool, fifthBit: Bool) {
        let offset: Int16 = fifthBit ? 16 : 8
        let qhOffset = hasMin ? 4 : 2
        let qsOffset = (hasMin ? 4 : 2) + (fifthBit ? 4 : 0)
        let bitIndices = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)  // a local: a static costs a swift_once per call
        for b in 0 ..< cols / 32 {
            let block = src + b * type.blockBytes
            // Whole-block SIMD values (not pointer loops): LLVM cannot prove `values` and the block
            // disjoint, and the pointer form fell back to byte inserts.
            // Whole-vector conversions only: a per-lane loop here ran scalar through the stack (the
            // fifth-bit merge alone was 50% of a 16-token prefill).
            let bytes = block.loadUnaligned(fromByteOffset: qsOffset, as: SIMD16<UInt8>.self)
            var low = SIMD16<Int16>(truncatingIfNeeded: bytes & 0x0F)
            var high = SIMD16<Int16>(truncatingIfNeeded: bytes &>> 4)
            if fifthBit {
                let qh = SIMD16<UInt32>(repeating: block.loadUnaligned(fromByteOffset: qhOffset, as: UInt32.self).littleEndian)
                low |= SIMD16<Int16>(truncatingIfNeeded: ((qh &>> bitIndices) & 1) &<< 4)
                high |= SIMD16<Int16>(truncatingIfNeeded: ((qh &>> (bitIndices &+ 16)) & 1) &<< 4)
            }
            let v = UnsafeMutableRawPointer(values + b * 32)
            v.storeBytes(of: low &- offset, as: SIMD16<Int16>.self)
            v.storeBytes(of: high &- offset, toByteOffset: 32, as: SIMD16<Int16>.self)
            let d = loadHalf(block)
            scales[b] = d
            biases[b] = hasMin ? Float(offset) * d + loadHalf(block, 2) : 0
        }
    }

    /// `out[t, first + r] = Σ_k W[first + r, k] · x[t, k]` for the panel's rows and all `tokens` of the
    /// quantised activation `x`, four tokens per kernel call.
    func multiply(_ panel: UnsafeRawPointer, _ x: QuantizedActivation, tokens: Int,
                  into out: UnsafeMutablePointer<Float>, outStride: Int, first: Int, count: Int,
                  tile: UnsafeMutablePointer<SIMD16<Float>>) {
        var t = 0
        while t < tokens {
            let last = tokens - 1
            let indices = SIMD4<Int>(t, min(t + 1, last), min(t + 2, last), min(t + 3, last))
            switch (groupSize, hasBias) {
            case (16, _): panelTile8Steps(panel, self, x, indices, tile)
            case (_, true): panelTile16StepsBiased(panel, self, x, indices, tile)
            default: panelTile16Steps(panel, self, x, indices, tile)
            }
            // tile[(half · 4 + token) · 2 + lanes 0–15 | 16–31]: lane 2i and 2i + 1 are row i's two columns.
            for j in 0 ..< min(4, tokens - t) {
                let row = out + (t + j) * outStride + first
                for half in 0 ..< 2 {
                    for part in 0 ..< 2 {
                        let v = tile[(half * 4 + j) * 2 + part]
                        let pairSums = v.evenHalf + v.oddHalf
                        for i in 0 ..< 8 {
                            let r = half * 16 + part * 8 + i
                            if r < count { row[r] = pairSums[i] }
                        }
                    }
                }
            }
            t += 4
        }
    }
}

/// Rows a, b, c, d of four value pairs each → four stores (one per step, `stride` apart) of the four
/// rows' pairs for that step.
@inline(__always)
private func transposeStore(_ a: SIMD4<UInt32>, _ b: SIMD4<UInt32>, _ c: SIMD4<UInt32>, _ d: SIMD4<UInt32>,
                            to p: UnsafeMutableRawPointer, stride: Int) {
    p.storeBytes(of: SIMD4(a[0], b[0], c[0], d[0]), as: SIMD4<UInt32>.self)
    p.storeBytes(of: SIMD4(a[1], b[1], c[1], d[1]), toByteOffset: stride, as: SIMD4<UInt32>.self)
    p.storeBytes(of: SIMD4(a[2], b[2], c[2], d[2]), toByteOffset: 2 * stride, as: SIMD4<UInt32>.self)
    p.storeBytes(of: SIMD4(a[3], b[3], c[3], d[3]), toByteOffset: 3 * stride, as: SIMD4<UInt32>.self)
}

/// A token-major Q8 activation as `ActivationQ8` holds it: Int16 values `[T, K]`, Float scales and
/// Int32 sums `[T, K/32]`.
struct QuantizedActivation {
    let values: UnsafePointer<Int16>
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Int32>
    let cols: Int
}

@inline(never)
func panelTile16Steps(_ panel: UnsafeRawPointer, _ layout: Int16RowPanel, _ x: QuantizedActivation, _ tokens: SIMD4<Int>,
                      _ out: UnsafeMutablePointer<SIMD16<Float>>) {
    panelTile(panel, layout, x, tokens, out, steps: 16, biased: false)
}

@inline(never)
func panelTile16StepsBiased(_ panel: UnsafeRawPointer, _ layout: Int16RowPanel, _ x: QuantizedActivation, _ tokens: SIMD4<Int>,
                            _ out: UnsafeMutablePointer<SIMD16<Float>>) {
    panelTile(panel, layout, x, tokens, out, steps: 16, biased: true)
}

@inline(never)
func panelTile8Steps(_ panel: UnsafeRawPointer, _ layout: Int16RowPanel, _ x: QuantizedActivation, _ tokens: SIMD4<Int>,
                     _ out: UnsafeMutablePointer<SIMD16<Float>>) {
    panelTile(panel, layout, x, tokens, out, steps: 8, biased: false)
}

/// 32 rows × 4 tokens over all of K: 8 Int16 accumulators per group, 16 Float accumulators across
/// groups (32 vector registers hold them, the two weight vectors and a broadcast). `steps` and `biased`
/// are literals at every call site, so the step loop unrolls and the bias code vanishes when unused.
@inline(__always)
private func panelTile(_ panel: UnsafeRawPointer, _ layout: Int16RowPanel, _ x: QuantizedActivation, _ tokens: SIMD4<Int>,
                       _ out: UnsafeMutablePointer<SIMD16<Float>>, steps: Int, biased: Bool) {
    var f00 = SIMD16<Float>(), g00 = SIMD16<Float>(), f01 = SIMD16<Float>(), g01 = SIMD16<Float>()
    var f02 = SIMD16<Float>(), g02 = SIMD16<Float>(), f03 = SIMD16<Float>(), g03 = SIMD16<Float>()
    var f10 = SIMD16<Float>(), g10 = SIMD16<Float>(), f11 = SIMD16<Float>(), g11 = SIMD16<Float>()
    var f12 = SIMD16<Float>(), g12 = SIMD16<Float>(), f13 = SIMD16<Float>(), g13 = SIMD16<Float>()
    let cols = x.cols
    let blocks = cols / 32
    let x0 = UnsafeRawPointer(x.values + tokens[0] * cols), x1 = UnsafeRawPointer(x.values + tokens[1] * cols)
    let x2 = UnsafeRawPointer(x.values + tokens[2] * cols), x3 = UnsafeRawPointer(x.values + tokens[3] * cols)
    let s0 = x.scales + tokens[0] * blocks, s1 = x.scales + tokens[1] * blocks
    let s2 = x.scales + tokens[2] * blocks, s3 = x.scales + tokens[3] * blocks
    let groupBytes = layout.groupBytes
    let valueBytes = steps * 128

    @inline(__always) func low(_ v: SIMD32<Int16>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0 ..< 16 { r[i] = Float(v[i]) }
        return r
    }
    @inline(__always) func high(_ v: SIMD32<Int16>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0 ..< 16 { r[i] = Float(v[i &+ 16]) }
        return r
    }
    @inline(__always) func pair(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD32<Int16> {
        unsafeBitCast(SIMD16<UInt32>(repeating: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)), to: SIMD32<Int16>.self)
    }

    for g in 0 ..< layout.groups {
        let base = panel + g &* groupBytes
        var i00 = SIMD32<Int16>(), i01 = SIMD32<Int16>(), i02 = SIMD32<Int16>(), i03 = SIMD32<Int16>()
        var i10 = SIMD32<Int16>(), i11 = SIMD32<Int16>(), i12 = SIMD32<Int16>(), i13 = SIMD32<Int16>()
        let column = g &* steps &* 4  // byte offset of this group's first value in an activation row
        for s in 0 ..< steps {
            let w0 = base.load(fromByteOffset: s &* 128, as: SIMD32<Int16>.self)
            let w1 = base.load(fromByteOffset: s &* 128 &+ 64, as: SIMD32<Int16>.self)
            let o = column &+ s &* 4
            let v0 = pair(x0, o)
            i00 &+= w0 &* v0; i10 &+= w1 &* v0
            let v1 = pair(x1, o)
            i01 &+= w0 &* v1; i11 &+= w1 &* v1
            let v2 = pair(x2, o)
            i02 &+= w0 &* v2; i12 &+= w1 &* v2
            let v3 = pair(x3, o)
            i03 &+= w0 &* v3; i13 &+= w1 &* v3
        }
        let b = g &* steps / 16  // the activation block this group lies in
        let d0 = s0[b], d1 = s1[b], d2 = s2[b], d3 = s3[b]
        let scales = base + valueBytes
        let a0 = scales.load(as: SIMD16<Float>.self), a1 = scales.load(fromByteOffset: 64, as: SIMD16<Float>.self)
        let b0 = scales.load(fromByteOffset: 128, as: SIMD16<Float>.self), b1 = scales.load(fromByteOffset: 192, as: SIMD16<Float>.self)
        f00.addProduct(low(i00), a0 * d0); g00.addProduct(high(i00), a1 * d0)
        f01.addProduct(low(i01), a0 * d1); g01.addProduct(high(i01), a1 * d1)
        f02.addProduct(low(i02), a0 * d2); g02.addProduct(high(i02), a1 * d2)
        f03.addProduct(low(i03), a0 * d3); g03.addProduct(high(i03), a1 * d3)
        f10.addProduct(low(i10), b0 * d0); g10.addProduct(high(i10), b1 * d0)
        f11.addProduct(low(i11), b0 * d1); g11.addProduct(high(i11), b1 * d1)
        f12.addProduct(low(i12), b0 * d2); g12.addProduct(high(i12), b1 * d2)
        f13.addProduct(low(i13), b0 * d3); g13.addProduct(high(i13), b1 * d3)
        if biased {
            // Σ_k bias · x_k = bias · d_x · Σ q_x: the activation block's sum, once per group.
            let e0 = d0 * Float(x.sums[tokens[0] &* blocks &+ b]), e1 = d1 * Float(x.sums[tokens[1] &* blocks &+ b])
            let e2 = d2 * Float(x.sums[tokens[2] &* blocks &+ b]), e3 = d3 * Float(x.sums[tokens[3] &* blocks &+ b])
            let biases = scales + 256
            let c0 = biases.load(as: SIMD16<Float>.self), c1 = biases.load(fromByteOffset: 64, as: SIMD16<Float>.self)
            let c2 = biases.load(fromByteOffset: 128, as: SIMD16<Float>.self), c3 = biases.load(fromByteOffset: 192, as: SIMD16<Float>.self)
            f00.addProduct(c0, SIMD16(repeating: e0)); g00.addProduct(c1, SIMD16(repeating: e0))
            f01.addProduct(c0, SIMD16(repeating: e1)); g01.addProduct(c1, SIMD16(repeating: e1))
            f02.addProduct(c0, SIMD16(repeating: e2)); g02.addProduct(c1, SIMD16(repeating: e2))
            f03.addProduct(c0, SIMD16(repeating: e3)); g03.addProduct(c1, SIMD16(repeating: e3))
            f10.addProduct(c2, SIMD16(repeating: e0)); g10.addProduct(c3, SIMD16(repeating: e0))
            f11.addProduct(c2, SIMD16(repeating: e1)); g11.addProduct(c3, SIMD16(repeating: e1))
            f12.addProduct(c2, SIMD16(repeating: e2)); g12.addProduct(c3, SIMD16(repeating: e2))
            f13.addProduct(c2, SIMD16(repeating: e3)); g13.addProduct(c3, SIMD16(repeating: e3))
        }
    }
    out[0] = f00; out[1] = g00; out[2] = f01; out[3] = g01; out[4] = f02; out[5] = g02; out[6] = f03; out[7] = g03
    out[8] = f10; out[9] = g10; out[10] = f11; out[11] = g11; out[12] = f12; out[13] = g12; out[14] = f13; out[15] = g13
}
