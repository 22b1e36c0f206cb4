import ModelFiles
import TestSupport
import XCTest
@testable import Kernels

/// Every mat-mul path against a plain Double reference on the dequantised weights.
final class DotProductTests: XCTestCase {
    /// Normalised mean squared error, Σ(y − ref)² / Σ ref².
    private func nmse(_ y: [Float], _ reference: [Double]) -> Double {
        let err = zip(y, reference).reduce(0.0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
        return err / max(reference.reduce(0.0) { $0 + $1 * $1 }, .leastNormalMagnitude)
    }

    func testMatMulOfEveryTypeAgainstFloatReference() throws {
        let file = try GGUFFile(path: TestPaths.fixture("quant-vectors.gguf"))
        var generator = SystemRandomNumberGenerator()
        let tokens = 3
        for type in [GGMLType.f16, .bf16, .q8_0, .q4_0] {
            let stored = try XCTUnwrap(file.tensor(named: type.name))
            let w = WeightMatrix(type: type, rows: stored.rowCount, cols: stored.rowLength, data: file.data(of: stored))
            let x = (0 ..< tokens * w.cols).map { _ in Float.random(in: -2 ... 2, using: &generator) }
            var out = [Float](repeating: .nan, count: tokens * w.rows)
            for threads in [1, 2] {
                w.multiply(x, tokens: tokens, into: &out, scratch: ActivationQ8(), pool: ThreadPool(threads: threads))
                var reference: [Double] = []
                var row = [Float](repeating: 0, count: w.cols)
                for t in 0 ..< tokens {
                    for r in 0 ..< w.rows {
                        w.dequantize(row: r, into: &row)
                        reference.append((0 ..< w.cols).reduce(0.0) { $0 + Double(row[$1]) * Double(x[t * w.cols + $1]) })
                    }
                }
                // Results are stored [token, row]; the reference was built in the same order.
                let error = nmse(out, reference)
                // Float-activation types only reorder a Float sum: 1e-10. Q8 activations round each
                // value to 1/254 of its block maximum: NMSE ≈ (1/254)²/3 ≈ 5e-6 for uniform inputs; 1e-4.
                let bound = w.usesQuantizedActivation ? 1e-4 : 1e-10
                XCTAssertLessThan(error, bound, "\(type.name) threads \(threads)")
            }
        }
    }

    func testActivationQuantisationRoundTrip() {
        let x: [Float] = (0 ..< 64).map { Float($0) - 31.5 }
        let q = ActivationQ8()
        q.quantize(x, tokens: 1, length: 64)
        for b in 0 ..< 2 {
            let amax = (0 ..< 32).map { abs(x[b * 32 + $0]) }.max() ?? 0
            XCTAssertEqual(q.scales[b], amax / 127)
            for i in 0 ..< 32 {
                // Round-to-nearest: each value is within half a step of its quantised value.
                XCTAssertLessThanOrEqual(abs(Float(q.values[b * 32 + i]) * q.scales[b] - x[b * 32 + i]), q.scales[b] / 2 * 1.0001)
            }
        }
        let zeros = [Float](repeating: 0, count: 32)
        q.quantize(zeros, tokens: 1, length: 32)
        XCTAssertEqual(q.scales[0], 0)
        XCTAssertEqual(q.values[0], 0)
    }
}
