import ModelFiles
import TestSupport
import XCTest
@testable import Kernels

/// Dequantisation against the `gguf` package: `quant-vectors.gguf` holds tensors quantised by
/// `gguf.quants.quantize` next to `gguf.quants.dequantize`'s output for them (edge cases included:
/// tiny and huge scales, all-zero blocks, one-signed blocks, outliers near the f16 limit).
final class DequantizationTests: XCTestCase {
    func testDequantisationIsBitExactWithGGUFPackage() throws {
        let file = try GGUFFile(path: TestPaths.fixture("quant-vectors.gguf"))
        for type in [GGMLType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K] {
            let stored = try XCTUnwrap(file.tensor(named: type.name), type.name)
            let expected = try XCTUnwrap(file.tensor(named: type.name + ".dequantized"))
            XCTAssertEqual(stored.type, type)
            XCTAssertEqual(stored.dims, expected.dims)
            let matrix = WeightMatrix(type: type, rows: stored.rowCount, cols: stored.rowLength, data: file.data(of: stored))
            let want = file.data(of: expected).assumingMemoryBound(to: Float.self)
            var row = [Float](repeating: 0, count: matrix.cols)
            var mismatches = 0
            for r in 0 ..< matrix.rows {
                matrix.dequantize(row: r, into: &row)
                for c in 0 ..< matrix.cols where row[c].bitPattern != want[r * matrix.cols + c].bitPattern {
                    mismatches += 1
                }
            }
            XCTAssertEqual(mismatches, 0, "\(type.name): values differing in any bit")
        }
    }
}
