#if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
import ModelFiles
import VectorInstructions

// Legend: R = 16 rows of one panel, K columns, T tokens; a group is 4 consecutive values of a row.

/// Prefill's byte-dot mat-mat: 16 weight rows laid out with the rows along the lanes, each 32-bit lane
/// holding one row's 4 codes of a group, so one `vpdpbusd` multiplies 16 rows × 4 values by one token's 4
/// activation bytes (broadcast) and accumulates in Int32.
///
/// Why: the four-token byte kernel (`ByteDotProducts+FourTokens`) converts, scales and adds 16 Int32 lanes
/// per 64 values per token, and that Float work bounds it near the Int16 panels' speed. Here a 32-value
/// block is 8 `vpdpbusd` per 16 rows and token, then one convert and two FMAs: its scale is a vector of the
/// 16 rows' scales, with no horizontal sums at all.
///
/// Memory: `[K/4 groups][16 lanes] UInt32` codes, then `[K/32 blocks][16 lanes] Float` scales (d, or d·sc
/// for a Q4_K sub-block) and the same for offsets (d·o for a code offset o, dmin·m for a Q4_K minimum),
/// which meet the activation's `scaledSums`.
struct BytePanel {
    static let rows = 16

    let type: GGMLType
    let cols: Int
    var blocks: Int { cols / 32 }
    var codeBytes: Int { cols / 4 * 64 }
    var byteCount: Int { codeBytes + 2 * blocks * 64 }

    /// The layout for `type`: the formats of `BlockPairFormat` and Q4_K (Q6_K's 16-value scales and
    /// offsets would need the activation's sums per 16 values; it keeps the Int16 panels).
    init?(type: GGMLType, cols: Int) {
        guard hasByteDotKernel(type, blocks: cols / 32), type != .q6_K else { return nil }
        self.type = type
        self.cols = cols
    }

    /// Lays out rows `first ..< first + count` of `matrix` (count ≤ 16) into `panel`; missing rows repeat
    /// the last one. Rows are decoded four at a time, 64 values each, and their 32-bit groups transposed
    /// 4 × 4 (`SIMD4<UInt32>`), so each store writes four rows' lanes of a group.
    func fill(_ panel: UnsafeMutableRawPointer, from matrix: WeightMatrix, first: Int, count: Int) {
        let scales = (panel + codeBytes).assumingMemoryBound(to: Float.self)
        let offsets = scales + 16 * blocks
        for quad in 0 ..< 4 {
            @inline(__always)
            func row(_ k: Int) -> UnsafeRawPointer { matrix.data + (first + min(4 * quad + k, count - 1)) * matrix.rowBytes }
            let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
            for pair in 0 ..< blocks / 2 {
                // 64 codes per row; the two blocks' scales and offsets (for Q4_K, its sub-blocks').
                @inline(__always)
                func decode(_ row: UnsafeRawPointer, _ k: Int) -> SIMD16<UInt32> {
                    let (codes, scale, offset) = steps(row, pair: pair)
                    let lane = 4 * quad + k
                    scales[(2 * pair) * 16 + lane] = scale[0]
                    scales[(2 * pair + 1) * 16 + lane] = scale[1]
                    offsets[(2 * pair) * 16 + lane] = offset[0]
                    offsets[(2 * pair + 1) * 16 + lane] = offset[1]
                    return codes
                }
                let c0 = decode(r0, 0), c1 = decode(r1, 1), c2 = decode(r2, 2), c3 = decode(r3, 3)
                // Group 16·pair + 4q + j, rows 4·quad … 4·quad + 3.
                let base = panel + (16 * pair) * 64 + 16 * quad
                for q in 0 ..< 4 {
                    let a = quarter(c0, q), b = quarter(c1, q), c = quarter(c2, q), d = quarter(c3, q)
                    for j in 0 ..< 4 {
                        (base + (4 * q + j) * 64).storeBytes(of: SIMD4(a[j], b[j], c[j], d[j]), as: SIMD4<UInt32>.self)
                    }
                }
            }
        }
    }

    @inline(__always)
    private func quarter(_ v: SIMD16<UInt32>, _ q: Int) -> SIMD4<UInt32> {
        SIMD4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3])
    }

    /// Values `64·pair ..< 64·pair + 64` of `row`: unsigned codes, and each 32-value block's scale and
    /// offset term (value = scale · code − offset).
    @inline(__always)
    private func steps(_ row: UnsafeRawPointer, pair: Int) -> (SIMD16<UInt32>, SIMD2<Float>, SIMD2<Float>) {
        switch type {
        case .q4_K:
            let block = Q4_KSuperBlock(row, pair / 4)
            let r = pair % 4
            return (block.codes(r), SIMD2(block.scales[2 * r], block.scales[2 * r + 1]), SIMD2(block.mins[2 * r], block.mins[2 * r + 1]))
        default:
            let format: BlockPairFormat = type == .q8_0 ? .q8_0 : (type == .q4_0 ? .q4_0 : .q5_0)
            let (codes, d) = format.pair(row, 2 * pair)
            return (codes, d, d * format.offset)
        }
    }

    /// Whether the codes are signed bytes (Q8_0 on AVX2, `BlockPairFormat.products`): they then meet the
    /// activation through `X86Vector.dotSignedBytes`.
    var signedCodes: Bool {
        #if QWENTTY_AVX512_VNNI
        return false
        #else
        return type == .q8_0
        #endif
    }

    /// `out[t, first + r] = Σ_k W[first + r, k] · x[t, k]` for the panel's rows and all `tokens` of `x`;
    /// `tile` is scratch for four 16-lane results.
    func multiply(_ panel: UnsafeRawPointer, _ x: ByteActivation, tokens: Int,
                  into out: UnsafeMutablePointer<Float>, outStride: Int, first: Int, count: Int,
                  tile: UnsafeMutablePointer<SIMD16<Float>>) {
        var t = 0
        while t < tokens {
            let last = tokens - 1
            let indices = SIMD4(t, min(t + 1, last), min(t + 2, last), min(t + 3, last))
            if signedCodes {
                bytePanelTileSigned(panel, self, x, indices, tile)
            } else {
                bytePanelTile(panel, self, x, indices, tile)
            }
            for j in 0 ..< min(4, tokens - t) {
                let row = out + (t + j) * outStride + first
                let v = tile[j]
                for r in 0 ..< count { row[r] = v[r] }
            }
            t += 4
        }
    }
}

/// 16 rows × 4 tokens over the whole row length, into `out[0 ..< 4]`.
@inline(never)
func bytePanelTile(_ panel: UnsafeRawPointer, _ layout: BytePanel, _ x: ByteActivation, _ tokens: SIMD4<Int>,
                   _ out: UnsafeMutablePointer<SIMD16<Float>>) {
    bytePanelTile(panel, layout, x, tokens, out, signedCodes: false)
}

@inline(never)
func bytePanelTileSigned(_ panel: UnsafeRawPointer, _ layout: BytePanel, _ x: ByteActivation, _ tokens: SIMD4<Int>,
                         _ out: UnsafeMutablePointer<SIMD16<Float>>) {
    bytePanelTile(panel, layout, x, tokens, out, signedCodes: true)
}

@inline(__always)
private func bytePanelTile(_ panel: UnsafeRawPointer, _ layout: BytePanel, _ x: ByteActivation, _ tokens: SIMD4<Int>,
                           _ out: UnsafeMutablePointer<SIMD16<Float>>, signedCodes: Bool) {
    let blocks = layout.blocks
    let scales = (panel + layout.codeBytes).assumingMemoryBound(to: SIMD16<Float>.self)
    let offsets = scales + blocks
    let x0 = x.token(tokens[0]), x1 = x.token(tokens[1]), x2 = x.token(tokens[2]), x3 = x.token(tokens[3])
    let s0 = x0.scales, s1 = x1.scales, s2 = x2.scales, s3 = x3.scales
    var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0
    for b in 0 ..< blocks {
        var i0 = SIMD16<Int32>(), i1 = i0, i2 = i0, i3 = i0
        let codes = panel + b &* 512
        let v0 = UnsafeRawPointer(x0.values + b &* 32), v1 = UnsafeRawPointer(x1.values + b &* 32)
        let v2 = UnsafeRawPointer(x2.values + b &* 32), v3 = UnsafeRawPointer(x3.values + b &* 32)
        for g in 0 ..< 8 {
            let w = codes.load(fromByteOffset: 64 * g, as: SIMD16<UInt32>.self)
            @inline(__always)
            func broadcast(_ v: UnsafeRawPointer) -> SIMD16<UInt32> {
                SIMD16(repeating: v.loadUnaligned(fromByteOffset: 4 * g, as: UInt32.self))
            }
            @inline(__always)
            func dot(_ acc: SIMD16<Int32>, _ v: UnsafeRawPointer) -> SIMD16<Int32> {
                #if QWENTTY_AVX512_VNNI
                return X86Vector.dotBytes(acc, unsigned: w, signed: broadcast(v))
                #else
                return signedCodes ? X86Vector.dotSignedBytes(acc, w, broadcast(v)) : X86Vector.dotBytes(acc, unsigned: w, signed: broadcast(v))
                #endif
            }
            i0 = dot(i0, v0)
            i1 = dot(i1, v1)
            i2 = dot(i2, v2)
            i3 = dot(i3, v3)
        }
        let scale = scales[b], offset = offsets[b]
        a0 = X86Vector.fma(X86Vector.floats(i0), scale * s0[b], X86Vector.fma(offset, SIMD16(repeating: -x0.scaledSums[b]), a0))
        a1 = X86Vector.fma(X86Vector.floats(i1), scale * s1[b], X86Vector.fma(offset, SIMD16(repeating: -x1.scaledSums[b]), a1))
        a2 = X86Vector.fma(X86Vector.floats(i2), scale * s2[b], X86Vector.fma(offset, SIMD16(repeating: -x2.scaledSums[b]), a2))
        a3 = X86Vector.fma(X86Vector.floats(i3), scale * s3[b], X86Vector.fma(offset, SIMD16(repeating: -x3.scaledSums[b]), a3))
    }
    out[0] = a0
    out[1] = a1
    out[2] = a2
    out[3] = a3
}
#endif
