import ModelFiles
import VectorInstructions

/// A weight matrix `[rows, cols]` (PyTorch order: `rows` outputs, each a row of `cols` inputs) left in its
/// stored form inside the memory map.
public struct WeightMatrix {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        rowBytes = cols / type.blockSize * type.blockBytes
    }

    /// From this many tokens on (prefill), rows are laid out once per batch and reused by every token:
    /// as `BytePanel`s where the type has byte-dot kernels (x86 with AVX-512 VNNI or AVX2), else as
    /// `Int16RowPanel`s for the nibble and K-quant formats (integer kernel, 8-bit activations), else as
    /// Floats (register-blocked Float FMAs). Below it, per-token dot products win (four tokens at a time
    /// with the byte-dot kernels). Measured with the portable kernels on Qwen2.5-0.5B Q4_0: panels win from
    /// 8 tokens on (pp8 157 vs 154 tok/s, pp16 271 vs 207); with the byte-dot ones on the real Q4_K_M file
    /// (Zen 4, 2 threads, four-token kernel vs byte panels, medians of 4): pp4 203 vs 134, pp8 234 vs
    /// 241, pp12 230 vs 307.
    public static let prefillThreshold = 8

    /// The instruction set of this build's byte-dot kernels ("AVX-512 VNNI", "AVX2"), or nil where only the
    /// portable SIMD kernels exist (chosen by Package.swift from the build machine's CPU).
    public static var byteDotInstructions: String? { X86Vector.instructionSet }

    /// Whether this matrix is dotted against a quantised (Q8) activation rather than Floats.
    public var usesQuantizedActivation: Bool { !(type == .f32 || type == .f16 || type == .bf16) }

    /// Dequantises row `row` into `dst` (`cols` Floats); used for embedding lookups.
    public func dequantize(row: Int, into dst: UnsafeMutablePointer<Float>) {
        dequantizeRow(type, data + row * rowBytes, dst, count: cols)
    }

    /// The kernels a `multiply` of `tokens` tokens runs.
    enum Path {
        /// Rows laid out as Int16 panels, against the 8-bit activation (prefill of the nibble and K-quant formats).
        case panels(Int16RowPanel)
        #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
        /// Rows laid out as byte panels for the byte-dot instructions (prefill of the formats that have them).
        case bytePanels(BytePanel)
        #endif
        /// Rows as Floats, against the Float activation (reference precision; prefill of the other formats).
        case floatRows
        /// A dot product per row and token (`bytes`: the byte-dot kernels, four tokens at a time).
        case perToken(bytes: Bool)
    }

    func path(tokens: Int, precision: ActivationPrecision) -> Path {
        let batched = tokens >= Self.prefillThreshold
        #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
        let byteDot = precision == .quantized && hasByteDotKernel(type, blocks: cols / 32)
        if byteDot, batched, let panel = BytePanel(type: type, cols: cols) { return .bytePanels(panel) }
        #else
        let byteDot = false
        #endif
        if precision == .quantized, batched, let panel = Int16RowPanel(type: type, cols: cols) { return .panels(panel) }
        if (usesQuantizedActivation && precision == .float) || batched { return .floatRows }
        return .perToken(bytes: byteDot)
    }

    /// `out[t, r] = Σ_c W[r, c] · x[t, c]` for `tokens` activation rows.
    ///
    /// Rows are split over the pool; each thread walks its rows once and dots every row against all
    /// tokens while the row is still in L1, so a prefill of n tokens reads the weights once, not n times.
    ///
    /// With `precision: .float` a quantised row is dequantised and dotted against the Float activation
    /// instead: slower, but free of activation rounding, so results can be compared with a Float
    /// reference to 1e-5 (the parity tests use it to prove every block format decodes exactly).
    ///
    /// `inputUnchanged: true` says `x` has not been written since the previous `multiply` with this
    /// `scratch`, so a quantisation of it still there is reused (Q, K and V share one input).
    public func multiply(_ x: UnsafePointer<Float>, tokens: Int, into out: UnsafeMutablePointer<Float>,
                         scratch: ActivationQ8, pool: ThreadPool, precision: ActivationPrecision = .quantized,
                         inputUnchanged: Bool = false) {
        func quantizeInput() {
            if !(inputUnchanged && scratch.holds(x, tokens: tokens, length: cols)) {
                scratch.quantize(x, tokens: tokens, length: cols, pool: pool)
            }
        }
        let byteDot: Bool
        switch path(tokens: tokens, precision: precision) {
        case .panels(let panel):
            quantizeInput()
            multiplyPanels(panel, scratch.quantized(length: cols), tokens: tokens, into: out, pool: pool)
            return
        #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
        case .bytePanels(let panel):
            quantizeInput()
            multiplyBytePanels(panel, ByteActivation(scratch, cols: cols), tokens: tokens, into: out, pool: pool)
            return
        #endif
        case .floatRows:
            multiplyDequantized(x, tokens: tokens, into: out, pool: pool)
            return
        case .perToken(let bytes):
            byteDot = bytes
            if usesQuantizedActivation {
                quantizeInput()
            }
        }
        let xq = UnsafePointer(scratch.values)
        let xs = UnsafePointer(scratch.scales)
        let sums = UnsafePointer(scratch.sums)
        let blocks = cols / 32
        let me = self
        #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
        let bytes = ByteActivation(scratch, cols: cols)
        #endif
        pool.parallelFor(rows) { start, end in
            for r in start ..< end {
                let row = me.data + r * me.rowBytes
                #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
                if byteDot {
                    var t = 0
                    while t + 4 <= tokens {
                        let four = dotByteKernel4(me.type, row, bytes.token(t))
                        for j in 0 ..< 4 { out[(t + j) * me.rows + r] = four[j] }
                        t += 4
                    }
                    while t < tokens {
                        out[t * me.rows + r] = dotByteKernel(me.type, row, bytes.token(t))
                        t += 1
                    }
                    continue
                }
                #endif
                for t in 0 ..< tokens {
                    let value: Float
                    switch me.type {
                    case .q8_0: value = dotQ8_0(row, xq + t * me.cols, xs + t * blocks, blocks: blocks)
                    case .q4_0: value = dotQ4_0(row, xq + t * me.cols, xs + t * blocks, sums + t * blocks, blocks: blocks)
                    case .q5_0: value = dotQ5_0(row, xq + t * me.cols, xs + t * blocks, sums + t * blocks, blocks: blocks)
                    case .q4_K: value = dotQ4_K(row, xq + t * me.cols, xs + t * blocks, sums + t * blocks, superBlocks: blocks / 8)
                    case .q6_K: value = dotQ6_K(row, xq + t * me.cols, xs + t * blocks, sums + t * blocks, superBlocks: blocks / 8)
                    case .q4_1, .q5_1:
                        value = dotNibble32(me.type, row, QuantizedRow(values: xq + t * me.cols, scales: xs + t * blocks, sums: sums + t * blocks), blocks: blocks)
                    case .q5_K:
                        value = dotKQuant(me.type, row, QuantizedRow(values: xq + t * me.cols, scales: xs + t * blocks, sums: sums + t * blocks), superBlocks: blocks / 8)
                    case .f16: value = dotF16(row, x + t * me.cols, count: me.cols)
                    case .bf16: value = dotBF16(row, x + t * me.cols, count: me.cols)
                    default: value = dotF32(row, x + t * me.cols, count: me.cols)
                    }
                    out[t * me.rows + r] = value
                }
            }
        }
    }
}

/// How activations meet quantised weights.
public enum ActivationPrecision: Sendable {
    /// 8-bit activations and integer dot products (llama.cpp's scheme; the fast path).
    case quantized
    /// Float activations against dequantised rows (reference precision).
    case float
}

extension WeightMatrix {
    /// Prefill for the nibble and K-quant formats: each thread lays out 32 rows at a time as an
    /// `Int16RowPanel` (in L2) and runs the integer 32-row × 4-token kernel over the whole batch.
    private func multiplyPanels(_ layout: Int16RowPanel, _ x: QuantizedActivation, tokens: Int,
                                into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let me = self
        pool.parallelFor((rows + Int16RowPanel.rows - 1) / Int16RowPanel.rows) { start, end in
            let panel = UnsafeMutableRawPointer.allocate(byteCount: layout.byteCount, alignment: 64)
            let values = UnsafeMutablePointer<Int16>.allocate(capacity: 4 * me.cols)
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: 4 * layout.groups)
            let biases = UnsafeMutablePointer<Float>.allocate(capacity: 4 * layout.groups)
            let tile = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: 16)
            defer {
                panel.deallocate()
                values.deallocate()
                scales.deallocate()
                biases.deallocate()
                tile.deallocate()
            }
            for p in start ..< end {
                let first = p * Int16RowPanel.rows
                let count = min(Int16RowPanel.rows, me.rows - first)
                layout.fill(panel, from: me, first: first, count: count, values: values, scales: scales, biases: biases)
                layout.multiply(panel, x, tokens: tokens, into: out, outStride: me.rows, first: first, count: count, tile: tile)
            }
        }
    }

    #if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
    /// Prefill for the byte-dot formats: each thread lays out 16 rows at a time as a `BytePanel` (in L2) and
    /// runs the 16-row × 4-token kernel over the whole batch.
    private func multiplyBytePanels(_ layout: BytePanel, _ x: ByteActivation, tokens: Int,
                                    into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let me = self
        pool.parallelFor((rows + BytePanel.rows - 1) / BytePanel.rows) { start, end in
            let panel = UnsafeMutableRawPointer.allocate(byteCount: layout.byteCount, alignment: 64)
            let tile = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: 4)
            defer {
                panel.deallocate()
                tile.deallocate()
            }
            for p in start ..< end {
                let first = p * BytePanel.rows
                let count = min(BytePanel.rows, me.rows - first)
                layout.fill(panel, from: me, first: first, count: count)
                layout.multiply(panel, x, tokens: tokens, into: out, outStride: me.rows, first: first, count: count, tile: tile)
            }
        }
    }
    #endif

    /// Prefill and reference-precision path: each row as Floats (dequantised once into a per-thread
    /// buffer, or read in place when stored as F32), then dotted against the tokens four at a time.
    private func multiplyDequantized(_ x: UnsafePointer<Float>, tokens: Int, into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let me = self
        let cols = me.cols
        pool.parallelFor(rows) { start, end in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * cols) { buffer in
                withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: 4) { results in
                    guard let scratch = buffer.baseAddress, let result = results.baseAddress else { return }
                    var r = start
                    while r < end {
                        // Up to four rows as Floats, contiguous in `scratch` (F32 rows are copied too:
                        // a row copy is cheap next to the batch of dot products that reuse it).
                        let count = min(4, end - r)
                        for k in 0 ..< 4 {
                            me.dequantize(row: r + min(k, count - 1), into: scratch + k * cols)
                        }
                        var t = 0
                        while t + 4 <= tokens {
                            dotRows4F32x4(scratch, rowStride: cols, x + t * cols, stride: cols, count: cols, into: result)
                            for k in 0 ..< count {
                                for j in 0 ..< 4 { out[(t + j) * me.rows + r + k] = result[k][j] }
                            }
                            t += 4
                        }
                        while t < tokens {
                            for k in 0 ..< count {
                                out[t * me.rows + r + k] = dotF32(UnsafeRawPointer(scratch + k * cols), x + t * cols, count: cols)
                            }
                            t += 1
                        }
                        r += count
                    }
                }
            }
        }
    }
}
