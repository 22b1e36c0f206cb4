import ModelFiles
import XCTest
@testable import Kernels

/// The prefill integer path (`Int16RowPanel`) against a Double reference on the same 8-bit activation.
final class Int16RowPanelTests: XCTestCase {
    private static let panelTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// Rows of `cols` Floats: row 0 all −1 and row 1 all +1 (every stored value at the end of its range,
    /// the Int16 accumulators' worst case), the rest pseudo-random in [−1, 1) with a few outliers.
    private func weights(rows: Int, cols: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0 ..< rows * cols).map { i in
            if i < cols { return -1 }
            if i < 2 * cols { return 1 }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24) * 2 - 1
            return i % 97 == 0 ? 8 * u : u
        }
    }

    func testPanelsMatchTheQuantisedActivationExactly() throws {
        // 70 rows: two full panels and a short one; whole 4-token tiles and a tail of one.
        let rows = 70, cols = 512, tokens = (WeightMatrix.prefillThreshold + 3) / 4 * 4 + 5
        // Token 0 all +1 and token 1 all −1 (every activation value ±127), the rest varied.
        let x: [Float] = (0 ..< tokens * cols).map { i in
            if i < cols { return 1 }
            if i < 2 * cols { return -1 }
            return sin(Float(i) * 0.37) * (i % 61 == 0 ? 20 : 1)
        }
        for type in Self.panelTypes {
            let floats = weights(rows: rows, cols: cols, seed: UInt64(type.rawValue))
            let rowBytes = cols / type.blockSize * type.blockBytes
            var stored = [UInt8](repeating: 0, count: rows * rowBytes)
            stored.withUnsafeMutableBytes { dst in
                floats.withUnsafeBufferPointer { src in
                    for r in 0 ..< rows {
                        Quantizer.quantizeRow(type, src.baseAddress! + r * cols, dst.baseAddress! + r * rowBytes, count: cols)
                    }
                }
            }
            XCTAssertNotNil(Int16RowPanel(type: type, cols: cols), type.name)
            for threads in [1, 2] {
                try stored.withUnsafeBytes { data in
                    let w = WeightMatrix(type: type, rows: rows, cols: cols, data: try XCTUnwrap(data.baseAddress))
                    let scratch = ActivationQ8()
                    var out = [Float](repeating: .nan, count: tokens * rows)
                    w.multiply(x, tokens: tokens, into: &out, scratch: scratch, pool: ThreadPool(threads: threads))
                    // The reference: dequantised weights · the very 8-bit activation the kernel used, in Double.
                    var row = [Float](repeating: 0, count: cols)
                    var worst = 0.0, largest = 0.0
                    for r in 0 ..< rows {
                        w.dequantize(row: r, into: &row)
                        for t in 0 ..< tokens {
                            var expected = 0.0
                            for c in 0 ..< cols {
                                let i = t * cols + c
                                expected += Double(row[c]) * Double(scratch.scales[i / 32]) * Double(scratch.values[i])
                            }
                            worst = max(worst, abs(Double(out[t * rows + r]) - expected))
                            largest = max(largest, abs(expected))
                        }
                    }
                    // Float rounding of scale products and of the per-group accumulation only: ~1e-7
                    // relative. An Int16 overflow on the ±1 rows/tokens would be off by 65 536 × a scale.
                    XCTAssertLessThan(worst / largest, 1e-5, "\(type.name) threads \(threads)")
                }
            }
        }
    }

    func testFormatsWhoseValuesDoNotFitInt16KeepTheFloatPath() {
        for type in [GGMLType.q8_0, .f16, .bf16, .f32] {
            XCTAssertNil(Int16RowPanel(type: type, cols: 512), type.name)
        }
    }
}
