import Foundation
import Kernels
import ModelFiles
import TestSupport
import XCTest
@testable import Transformer

/// Q8_0 / Q4_0 files against `transformers` run on the weights dequantised from the same file.
///
/// The weights are then identical on both sides; the difference left is the engine quantising each
/// activation vector to 8 bits per 32-block before its integer dot products (as llama.cpp does). That
/// rounding is up to 1/254 of a block's largest value per element, so logits move by a few hundredths.
final class QuantizedParityTests: XCTestCase {
    /// Bound on |logprob − reference logprob| over the reference's top-5 tokens at the first step, with
    /// the fast 8-bit activations.
    ///
    /// Measured (2026-11-22): 0.018–0.061 on the Q8_0/Q4_0 files, 0.141 on the three-layer mixed file.
    /// `testReferencePrecisionIsExact` shows the same files match to ~1e-5 with Float activations, so
    /// this gap is activation rounding alone, amplified by the fixtures' deliberately strong residual
    /// branches. 0.3 leaves 2× room over the worst case; a wrong block layout, scale or nibble order
    /// moves logprobs by whole units (and is caught to 1e-3 by the reference-precision test anyway).
    static let logprobTolerance = 0.3

    /// With Float activations the engine must agree with `transformers` on the dequantised weights as
    /// tightly as on float files: 32 greedy tokens identical, top-5 logprobs within 1e-3 at every step
    /// (same reasoning as ReferenceParityTests; measured ≤ 1e-5).
    func testReferencePrecisionIsExact() throws {
        for reference in try ReferenceFixtures.load().models where !reference.exact {
            let model = try QwenModel(file: GGUFFile(path: TestPaths.fixture(reference.file)), pool: ThreadPool(threads: 2),
                                      maxContext: 128, maxBatch: 8, activationPrecision: .float)
            let cache = model.makeCache()
            let v = reference.vocab
            try model.forward(reference.prompt, cache: cache)
            var worst = 0.0
            for step in 0 ..< reference.greedy.count {
                let logits = (0 ..< v).map { Double(model.logits[$0]) }
                let maxLogit = logits.max() ?? 0
                let logSum = log(logits.reduce(0) { $0 + exp($1 - maxLogit) }) + maxLogit
                for pair in reference.top_logprobs[step] {
                    worst = max(worst, abs((logits[Int(pair[0])] - logSum) - pair[1]))
                }
                let argmax = (0 ..< v).max { logits[$0] < logits[$1] } ?? -1
                XCTAssertEqual(Int32(argmax), reference.greedy[step], "\(reference.file) step \(step)")
                try model.forward([Int32(argmax)], cache: cache)
            }
            XCTAssertLessThanOrEqual(worst, 1e-3, reference.file)
            print("reference-precision parity \(reference.file): max |Δlogprob| over 32 steps = \(worst)")
        }
    }

    func testQuantizedFilesAgreeWithDequantisedReference() throws {
        for reference in try ReferenceFixtures.load().models where !reference.exact {
            let model = try QwenModel(file: GGUFFile(path: TestPaths.fixture(reference.file)), pool: ThreadPool(threads: 2), maxContext: 64)
            let cache = model.makeCache()
            try model.forward(reference.prompt, cache: cache)
            let v = reference.vocab
            let logits = (0 ..< v).map { Double(model.logits[$0]) }
            let maxLogit = logits.max() ?? 0
            let logSum = log(logits.reduce(0) { $0 + exp($1 - maxLogit) }) + maxLogit
            let argmax = (0 ..< v).max { logits[$0] < logits[$1] } ?? -1
            XCTAssertEqual(Int32(argmax), reference.greedy[0], "\(reference.file): first-step top-1")
            var worst = 0.0
            for pair in reference.top_logprobs[0] {
                let id = Int(pair[0])
                worst = max(worst, abs((logits[id] - logSum) - pair[1]))
            }
            XCTAssertLessThanOrEqual(worst, Self.logprobTolerance, reference.file)
            let expected = try reference.logits()
            let maxDiff = (0 ..< v).map { abs(Float(logits[$0]) - expected[$0]) }.max() ?? 0
            print("quantised parity \(reference.file): top-5 max |Δlogprob| = \(worst), all-vocab max |Δlogit| = \(maxDiff)")
        }
    }
}
