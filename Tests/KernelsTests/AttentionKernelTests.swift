import XCTest
@testable import Kernels

/// The grouped attention kernels against a Double reference, for every number of heads per call (1…8),
/// Qwen's head sizes (64, 128; the tiny fixtures use 32) and one that is not a multiple of 8. Bound:
/// Float sums of up to 128 products and softmax-weighted sums stay within 1e-5 relative here.
final class AttentionKernelTests: XCTestCase {
    func testScoresAndWeightedSumsMatchDouble() {
        var generator = SystemRandomNumberGenerator()
        for headSize in [32, 64, 128, 20] {
            for heads in 1 ... 8 {
                let count = 37, stride = headSize * 2 + 3  // keys interleaved with another head's, as in the cache
                let queries = (0 ..< heads * headSize).map { _ in Float.random(in: -1 ... 1, using: &generator) }
                let keys = (0 ..< count * stride).map { _ in Float.random(in: -1 ... 1, using: &generator) }
                let scoreStride = count + 5
                var scores = [Float](repeating: .nan, count: 8 * scoreStride)
                attentionScores(queries, heads: heads, keys: keys, stride: stride, count: count, headSize: headSize,
                                scale: 0.125, into: &scores, scoreStride: scoreStride)
                for h in 0 ..< heads {
                    for p in 0 ..< count {
                        var reference = 0.0
                        for i in 0 ..< headSize { reference += Double(queries[h * headSize + i]) * Double(keys[p * stride + i]) }
                        XCTAssertEqual(Double(scores[h * scoreStride + p]), reference * 0.125, accuracy: 1e-5, "scores h\(h) p\(p) d\(headSize)")
                    }
                }
                XCTAssertTrue(scores[heads * scoreStride ..< 8 * scoreStride].allSatisfy(\.isNaN), "nothing written past the heads asked for")

                let weights = (0 ..< 8 * scoreStride).map { _ in Float.random(in: 0 ... 1, using: &generator) }
                var out = [Float](repeating: .nan, count: 8 * headSize)
                attentionWeightedSum(weights, weightStride: scoreStride, heads: heads, values: keys, stride: stride,
                                     count: count, headSize: headSize, into: &out)
                for h in 0 ..< heads {
                    for i in 0 ..< headSize {
                        var reference = 0.0
                        for p in 0 ..< count { reference += Double(weights[h * scoreStride + p]) * Double(keys[p * stride + i]) }
                        XCTAssertEqual(Double(out[h * headSize + i]), reference, accuracy: 1e-5 * max(1, abs(reference)), "sum h\(h) i\(i) d\(headSize)")
                    }
                }
                XCTAssertTrue(out[(heads * headSize)...].allSatisfy { $0.isNaN }, "nothing written past the heads asked for")
            }
        }
    }
}
