import Foundation
import XCTest
@testable import Kernels

/// The element-wise functions against Double references. Bounds: Float has 6e-8 relative precision;
/// the exponential is allowed 2 ulp-ish (1.2e-7 relative is what the polynomial reaches, measured below),
/// and sums over n values may add about sqrt(n) ulps of rounding.
final class VectorMathTests: XCTestCase {
    func testPolynomialExpAccuracy() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let reference = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(polynomialExp(x)) - reference) / reference)
            x += 0.0007
        }
        print("polynomialExp: max relative error \(worst) over [-87, 88]")
        XCTAssertLessThan(worst, 2e-7)
        XCTAssertEqual(polynomialExp(0), 1)
        XCTAssertLessThan(polynomialExp(-1000), 1e-37, "far below the range: (almost) zero, never NaN")
        XCTAssertTrue(polynomialExp(1000).isFinite, "clamped: no overflow to inf")
        XCTAssertTrue(polynomialExp(-.infinity) >= 0)
    }

    func testSoftmaxAndSwiGLUMatchDouble() {
        var generator = SystemRandomNumberGenerator()
        for count in [1, 7, 8, 33, 4864] {
            let values = (0 ..< count).map { _ in Float.random(in: -30 ... 30, using: &generator) }
            var probabilities = values
            probabilities.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count) }
            let top = Double(values.max()!)
            let z = values.reduce(0.0) { $0 + Foundation.exp(Double($1) - top) }
            for i in 0 ..< count {
                let reference = Foundation.exp(Double(values[i]) - top) / z
                XCTAssertEqual(Double(probabilities[i]), reference, accuracy: 1e-6 * max(reference, 1e-3), "softmax \(count)[\(i)]")
            }
            let up = (0 ..< count).map { _ in Float.random(in: -2 ... 2, using: &generator) }
            var gate = values
            gate.withUnsafeMutableBufferPointer { swiGLU($0.baseAddress!, up, count: count) }
            for i in 0 ..< count {
                let g = Double(values[i])
                let reference = g / (1 + Foundation.exp(-g)) * Double(up[i])
                XCTAssertEqual(Double(gate[i]), reference, accuracy: 1e-6 * max(abs(reference), 1e-3), "swiGLU \(count)[\(i)]")
            }
        }
    }

    func testLogSumExpOverAVocabulary() {
        var generator = SystemRandomNumberGenerator()
        let logits = (0 ..< 151_936).map { _ in Float.random(in: -20 ... 25, using: &generator) }
        let top = Double(logits.max()!)
        let reference = top + Foundation.log(logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - top) })
        let value = logits.withUnsafeBufferPointer { logSumExp($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(Double(value), reference, accuracy: 1e-5, "a logprob shifts by at most this")
        XCTAssertEqual([Float](repeating: 3, count: 4).withUnsafeBufferPointer { logSumExp($0.baseAddress!, count: 4) },
                       3 + Float(Foundation.log(4.0)), accuracy: 1e-6)
        let masked: [Float] = [-.infinity, 2, -.infinity]
        XCTAssertEqual(masked.withUnsafeBufferPointer { logSumExp($0.baseAddress!, count: 3) }, 2, accuracy: 1e-6,
                       "masked (-inf) entries contribute nothing")
        let allMasked = [Float](repeating: -.infinity, count: 5)
        XCTAssertEqual(allMasked.withUnsafeBufferPointer { logSumExp($0.baseAddress!, count: 5) }, -.infinity)
    }
}
