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

    /// Deterministic inputs: SplitMix64 mapped to [-2, 2).
    private func activations(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0 ..< count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 24) * 4 - 2
        }
    }

    private func reference(_ w: WeightMatrix, _ x: [Float], tokens: Int) -> [Double] {
        var out: [Double] = []
        var row = [Float](repeating: 0, count: w.cols)
        for t in 0 ..< tokens {
            for r in 0 ..< w.rows {
                w.dequantize(row: r, into: &row)
                out.append((0 ..< w.cols).reduce(0.0) { $0 + Double(row[$1]) * Double(x[t * w.cols + $1]) })
            }
        }
        return out  // [token, row], the order `multiply` writes
    }

    func testMatMulOfEveryTypeAgainstFloatReference() throws {
        let file = try GGUFFile(path: TestPaths.fixture("quant-vectors.gguf"))
        // 3 and 5 tokens take the per-token decode kernels (with byte-dot kernels compiled in, 5 is one
        // four-token call and one single); 9 and 17 tokens the prefill paths (byte panels where compiled
        // in, else Int16 panels for the nibble and K-quant formats, rows as Floats and the 4×4
        // micro-kernel for the others), here with 7 rows so row and token remainders run.
        for (tokens, rowLimit) in [(3, Int.max), (5, Int.max), (9, 7), (17, 7)] {
        for type in [GGMLType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K] {
            let stored = try XCTUnwrap(file.tensor(named: type.name))
            let w = WeightMatrix(type: type, rows: min(rowLimit, stored.rowCount), cols: stored.rowLength, data: file.data(of: stored))
            let path = w.path(tokens: tokens, precision: .quantized)
            let x = activations(tokens * w.cols, seed: UInt64(type.rawValue))
            for threads in [1, 2] {
                var out = [Float](repeating: .nan, count: tokens * w.rows)
                let scratch = ActivationQ8()
                w.multiply(x, tokens: tokens, into: &out, scratch: scratch, pool: ThreadPool(threads: threads))
                // Only the Float-row path (Q8_0 prefill) dots quantised rows against Float activations.
                var integerPath = true
                if case .floatRows = path { integerPath = false }
                if w.usesQuantizedActivation && integerPath {
                    // Exactness of the integer kernel: against the same 8-bit activation, dequantised, the
                    // only difference is Float rounding of scale products and sums (~1e-7 relative).
                    let xq = (0 ..< tokens * w.cols).map { scratch.scales[$0 / 32] * Float(scratch.values[$0]) }
                    XCTAssertLessThan(nmse(out, reference(w, xq, tokens: tokens)), 1e-10, "\(type.name) threads \(threads)")
                    // Against Float activations the 8-bit rounding shows. These fixture rows include ones
                    // dominated by a few outliers (where one element's rounding is not averaged away), so
                    // the bound is loose: a sanity check; the line above is the precise one.
                    XCTAssertLessThan(nmse(out, reference(w, x, tokens: tokens)), 1e-3, "\(type.name) threads \(threads)")
                } else {
                    // Float activations (Float weights, or any weights on the prefill path): only the
                    // summation order differs from the Double reference.
                    XCTAssertLessThan(nmse(out, reference(w, x, tokens: tokens)), 1e-10, "\(type.name) threads \(threads) tokens \(tokens)")
                }
            }
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
