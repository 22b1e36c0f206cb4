import ModelFiles
import TestSupport
import XCTest
@testable import Kernels

final class QuantizerTests: XCTestCase {
    /// The 32-block formats and F16/BF16 are quantised exactly as the `gguf` package does: the bytes
    /// must equal gguf-py's for the same source values (quant-vectors.gguf holds both, edge cases included).
    func testBytesMatchTheGGUFPackage() throws {
        let file = try GGUFFile(path: TestPaths.fixture("quant-vectors.gguf"))
        let source = try XCTUnwrap(file.tensor(named: "source"))
        let x = file.data(of: source).assumingMemoryBound(to: Float.self)
        for type in [GGMLType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1] {
            let expected = try XCTUnwrap(file.tensor(named: type.name))
            var out = [UInt8](repeating: 0, count: expected.byteCount)
            let rowBytes = expected.rowBytes
            out.withUnsafeMutableBytes { raw in
                for r in 0 ..< source.rowCount {
                    Quantizer.quantizeRow(type, x + r * source.rowLength, raw.baseAddress! + r * rowBytes, count: source.rowLength)
                }
            }
            let want = UnsafeRawBufferPointer(start: file.data(of: expected), count: expected.byteCount)
            XCTAssertEqual(out, Array(want), type.name)
        }
    }

    /// K-quants (round-to-nearest with 6-bit sub-block scales) on Gaussian rows: the relative RMSE of
    /// dequantize(quantize(x)) against x. Expected from the step sizes: ~range/(levels·√12)/σ, i.e.
    /// about 0.08 (Q4_K), 0.04 (Q5_K), 0.02 (Q6_K); measured 0.078 / 0.038 / 0.019 (Q8_0: 0.0054).
    /// Bounds allow ~25% over that; a packing error gives errors of order 1.
    func testKQuantErrorIsWithinBounds() {
        var state: UInt64 = 99
        func gaussian() -> Float {
            func uniform() -> Double {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Double(state >> 11) + 0.5) / Double(1 << 53)
            }
            return Float((-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()))
        }
        let count = 256 * 64
        let x = (0 ..< count).map { _ in gaussian() }
        for (type, bound) in [(GGMLType.q4_K, 0.10), (.q5_K, 0.05), (.q6_K, 0.025), (.q8_0, 0.01)] {
            var stored = [UInt8](repeating: 0, count: count / type.blockSize * type.blockBytes)
            var back = [Float](repeating: 0, count: count)
            stored.withUnsafeMutableBytes { raw in
                Quantizer.quantizeRow(type, x, raw.baseAddress!, count: count)
                dequantizeRow(type, UnsafeRawPointer(raw.baseAddress!), &back, count: count)
            }
            let error = zip(x, back).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let signal = x.reduce(0.0) { $0 + Double($1) * Double($1) }
            let relative = (error / signal).squareRoot()
            XCTAssertLessThan(relative, bound, type.name)
            print("quantizer \(type.name): relative RMSE \(relative)")
        }
    }

    func testFallbacksFollowLlamaCpp() {
        XCTAssertEqual(Quantizer.fallback(for: .q4_K), .q5_0)
        XCTAssertEqual(Quantizer.fallback(for: .q5_K), .q5_1)
        XCTAssertEqual(Quantizer.fallback(for: .q6_K), .q8_0)
        XCTAssertEqual(Quantizer.fallback(for: .q8_0), .q8_0)
    }
}
