#if QWENTTY_AVX512_VNNI || QWENTTY_AVX2
import ModelFiles
import VectorInstructions
import XCTest
@testable import Kernels

/// The byte-dot kernels against the portable ones on the same rows and the same 8-bit activation
/// (compiled where the build machine has AVX-512 VNNI or AVX2; `DotProductTests` covers both against a Double reference).
final class ByteDotProductTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0 ..< count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    /// Rows of the real model's widths (896 and 4864 values, 28 and 152 blocks): integer sums are exact in
    /// both kernels, so they differ only in the order Float products are added (~1e-7 relative per
    /// term; 1e-5 of the sum of magnitudes bounds it with room).
    func testEveryByteKernelMatchesThePortableKernel() throws {
        XCTAssertNotNil(X86Vector.instructionSet)
        for cols in [896, 4864] {
            // Four tokens: the first is dotted alone (decode) and all four at once (short prompts).
            let x = random(4 * cols, seed: UInt64(cols))
            let activation = ActivationQ8()
            activation.quantize(x, tokens: 4, length: cols)
            for i in 0 ..< 4 * cols { XCTAssertEqual(Int16(activation.bytes[i]), activation.values[i]) }
            for b in 0 ..< 4 * cols / 32 {
                XCTAssertEqual(activation.scaledSums[b], activation.scales[b] * Float(activation.sums[b]))
                XCTAssertEqual(activation.pairScales[b / 2][(b % 2) * 8 + 3], activation.scales[b])
            }
            let blocks = cols / 32
            for type in [GGMLType.q8_0, .q4_0, .q5_0, .q4_K, .q6_K] where hasByteDotKernel(type, blocks: blocks) {
                for seed in 0 ..< 4 {
                    var w = random(cols, seed: 100 + UInt64(seed))
                    if seed == 1 { w = w.map { $0 * 1e3 } }       // large scales
                    if seed == 2 { w = w.map { abs($0) } }        // one-signed blocks (Q8_0's codes near 255)
                    if seed == 3 { for i in stride(from: 0, to: cols, by: 5) { w[i] = -w[i].magnitude * 40 } }
                    let row = UnsafeMutableRawPointer.allocate(byteCount: cols / type.blockSize * type.blockBytes, alignment: 64)
                    defer { row.deallocate() }
                    Quantizer.quantizeRow(type, w, row, count: cols)
                    let xq = UnsafePointer(activation.values), xs = UnsafePointer(activation.scales)
                    let sums = UnsafePointer(activation.sums)
                    let portable: Float
                    switch type {
                    case .q8_0: portable = dotQ8_0(row, xq, xs, blocks: blocks)
                    case .q4_0: portable = dotQ4_0(row, xq, xs, sums, blocks: blocks)
                    case .q5_0: portable = dotQ5_0(row, xq, xs, sums, blocks: blocks)
                    case .q4_K: portable = dotQ4_K(row, xq, xs, sums, superBlocks: blocks / 8)
                    default: portable = dotQ6_K(row, xq, xs, sums, superBlocks: blocks / 8)
                    }
                    let bytes = ByteActivation(activation, cols: cols)
                    let vnni = dotByteKernel(type, row, bytes)
                    let four = dotByteKernel4(type, row, bytes)
                    // The four-token kernel does the same arithmetic per token in the same order.
                    for t in 0 ..< 4 { XCTAssertEqual(four[t], dotByteKernel(type, row, bytes.token(t)), "\(type.name) token \(t)") }
                    var dequantized = [Float](repeating: 0, count: cols)
                    WeightMatrix(type: type, rows: 1, cols: cols, data: row).dequantize(row: 0, into: &dequantized)
                    let magnitude = (0 ..< cols).reduce(Float(0)) { $0 + abs(dequantized[$1] * Float(activation.values[$1]) * activation.scales[$1 / 32]) }
                    XCTAssertEqual(vnni, portable, accuracy: 1e-5 * magnitude, "\(type.name) cols \(cols) seed \(seed)")
                }
            }
        }
    }

    /// The byte panels (prefill) against the one-token kernel: 20 rows (a full panel and a remainder of 4)
    /// × 6 tokens (a four-token tile and a partial one). Integer sums per block are exact in both; the
    /// panel adds the blocks' Float terms in another order, hence 1e-5 of the magnitudes.
    func testBytePanelsMatchTheOneTokenKernel() throws {
        let cols = 1024, rows = 20, tokens = 6
        let x = random(tokens * cols, seed: 7)
        let activation = ActivationQ8()
        activation.quantize(x, tokens: tokens, length: cols)
        let bytes = ByteActivation(activation, cols: cols)
        for type in [GGMLType.q8_0, .q4_0, .q5_0, .q4_K] {
            let layout = try XCTUnwrap(BytePanel(type: type, cols: cols))
            let rowBytes = cols / type.blockSize * type.blockBytes
            let data = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes, alignment: 64)
            defer { data.deallocate() }
            for r in 0 ..< rows { Quantizer.quantizeRow(type, random(cols, seed: 50 + UInt64(r)), data + r * rowBytes, count: cols) }
            let matrix = WeightMatrix(type: type, rows: rows, cols: cols, data: data)
            var out = [Float](repeating: .nan, count: tokens * rows)
            let panel = UnsafeMutableRawPointer.allocate(byteCount: layout.byteCount, alignment: 64)
            let tile = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: 4)
            defer {
                panel.deallocate()
                tile.deallocate()
            }
            for first in stride(from: 0, to: rows, by: BytePanel.rows) {
                let count = min(BytePanel.rows, rows - first)
                layout.fill(panel, from: matrix, first: first, count: count)
                layout.multiply(panel, bytes, tokens: tokens, into: &out, outStride: rows, first: first,
                                count: count, tile: tile)
            }
            var dequantized = [Float](repeating: 0, count: cols)
            for r in 0 ..< rows {
                matrix.dequantize(row: r, into: &dequantized)
                for t in 0 ..< tokens {
                    let magnitude = (0 ..< cols).reduce(Float(0)) {
                        $0 + abs(dequantized[$1] * Float(activation.values[t * cols + $1]) * activation.scales[(t * cols + $1) / 32])
                    }
                    let expected = dotByteKernel(type, data + r * rowBytes, bytes.token(t))
                    XCTAssertEqual(out[t * rows + r], expected, accuracy: 1e-5 * magnitude, "\(type.name) row \(r) token \(t)")
                }
            }
        }
    }

    /// Rows with an odd number of 32-value blocks take the portable kernels (the byte-dot ones step 64 values).
    func testOddBlockCountsFallBack() {
        for type in [GGMLType.q8_0, .q4_0, .q5_0, .q4_K, .q6_K] { XCTAssertTrue(hasByteDotKernel(type, blocks: 152)) }
        XCTAssertFalse(hasByteDotKernel(.q5_0, blocks: 3))
        XCTAssertFalse(hasByteDotKernel(.q8_0, blocks: 27))
        XCTAssertTrue(hasByteDotKernel(.q8_0, blocks: 28))
        XCTAssertFalse(hasByteDotKernel(.q5_1, blocks: 28))
    }
}
#endif
