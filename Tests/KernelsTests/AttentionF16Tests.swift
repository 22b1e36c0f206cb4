import XCTest
@testable import Kernels

/// The F16 KV cache's kernels: every finite half widens to the Float it is, and attention over F16 rows
/// equals attention over the same rows as Floats.
final class AttentionF16Tests: XCTestCase {
    /// All 63 488 finite half bit patterns (subnormals, zeros of both signs) through the lane arithmetic.
    func testEveryFiniteHalfWidensExactly() {
        var patterns: [UInt16] = (0 ... UInt16.max).filter { ($0 >> 10) & 0x1F != 0x1F }
        while patterns.count % 16 != 0 { patterns.append(0) }
        patterns.withUnsafeBytes { raw in
            for chunk in stride(from: 0, to: patterns.count, by: 16) {
                let (even, odd) = evenAndOddHalves(raw.loadUnaligned(fromByteOffset: 2 * chunk, as: SIMD8<UInt32>.self))
                for j in 0 ..< 8 {
                    for (value, index) in [(even[j], chunk + 2 * j), (odd[j], chunk + 2 * j + 1)] {
                        let expected = Float(Float16(bitPattern: patterns[index]))
                        if value.bitPattern != expected.bitPattern {
                            return XCTFail("half 0x\(String(patterns[index], radix: 16)): \(value), expected \(expected)")
                        }
                    }
                }
            }
        }
    }

    func testStoringClampsToTheHalfRange() {
        let x: [Float] = [1e6, -1e6, 0.1, -3.5]
        var out = [UInt16](repeating: 0, count: 4)
        storeHalves(x, into: &out, count: 4)
        XCTAssertEqual(out.map { Float(Float16(bitPattern: $0)) }, [65504, -65504, Float(Float16(Float(0.1))), -3.5])
    }

    /// Scores over F16 key blocks and weighted sums over F16 rows against the F32 kernels on the same values
    /// (rounded to F16 first): only the order of the additions differs, so 1e-5 relative is loose. Head
    /// sizes of Qwen (64, 128) and an odd one; 1–8 heads; counts that fill blocks and ones that do not.
    func testF16AttentionEqualsF32AttentionOnTheSameValues() {
        var rng = SystemRandomNumberGenerator()
        for headSize in [64, 128, 40] {
            for heads in [1, 3, 4, 5, 7, 8] {
                for count in [1, 2, 7, 16, 33] {
                    let stride = headSize * 2 + 16  // rows of a wider cache, as one kv head of several
                    let rows = (0 ..< count * stride).map { _ in Float16(Float.random(in: -2 ... 2, using: &rng)) }
                    let asFloats = rows.map { Float($0) }
                    let halves = rows.map(\.bitPattern)
                    let queries = (0 ..< heads * headSize).map { _ in Float.random(in: -1 ... 1, using: &rng) }
                    // The keys as `KVCache.keyBlocks` lays them out: blocks of 16 positions, element-major,
                    // position 16b + l at slot (l mod 8)·2 + l / 8.
                    let padded = (count + 15) / 16 * 16
                    var blocks = [UInt16](repeating: 0, count: padded * headSize)
                    for p in 0 ..< count {
                        let slot = (p % 8) * 2 + (p % 16) / 8
                        for d in 0 ..< headSize { blocks[(p / 16) * 16 * headSize + 16 * d + slot] = halves[p * stride + d] }
                    }
                    var fast = [Float](repeating: 0, count: heads * padded), reference = [Float](repeating: 0, count: heads * count)
                    blocks.withUnsafeBytes { keys in
                        attentionScoresF16(queries, heads: heads, keyBlocks: keys.baseAddress!, count: count,
                                           headSize: headSize, scale: 0.125, into: &fast, scoreStride: padded)
                    }
                    attentionScores(queries, heads: heads, keys: asFloats, stride: stride, count: count, headSize: headSize,
                                    scale: 0.125, into: &reference, scoreStride: count)
                    for h in 0 ..< heads {
                        for p in 0 ..< count {
                            let (ours, theirs) = (fast[h * padded + p], reference[h * count + p])
                            XCTAssertEqual(ours, theirs, accuracy: 1e-5 * max(1, abs(theirs)), "scores \(headSize) \(heads) \(count)")
                        }
                    }
                    let weights = (0 ..< heads * count).map { _ in Float.random(in: 0 ... 1, using: &rng) }
                    var sum = [Float](repeating: 0, count: heads * headSize), sumReference = sum
                    halves.withUnsafeBytes { values in
                        attentionWeightedSumF16(weights, weightStride: count, heads: heads, values: values.baseAddress!,
                                                stride: stride, count: count, headSize: headSize, into: &sum)
                    }
                    attentionWeightedSum(weights, weightStride: count, heads: heads, values: asFloats, stride: stride,
                                         count: count, headSize: headSize, into: &sumReference)
                    for i in sum.indices {
                        XCTAssertEqual(sum[i], sumReference[i], accuracy: 1e-5 * max(1, abs(sumReference[i])), "sums \(headSize) \(heads) \(count)")
                    }
                }
            }
        }
    }
}
