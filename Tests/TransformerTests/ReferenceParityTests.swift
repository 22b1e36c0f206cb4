import Kernels
import ModelFiles
import TestSupport
import XCTest
@testable import Transformer

/// The forward pass against `transformers` on the same weights (see scripts/make-fixtures.py).
final class ReferenceParityTests: XCTestCase {
    /// Float files: every one of 32 greedy steps must pick the reference token and every logit must be
    /// within 1e-3. Both sides compute in fp32 on identical weight values; what remains is summation
    /// order (~1e-6 relative on logits of size ~1–10). 1e-3 leaves room for that yet is 40× below the
    /// smallest top-1 margin in the fixtures, so a real bug (wrong RoPE pair, bias, norm) cannot pass.
    /// The KV cache in F32, so that nothing but summation order separates the two sides.
    func testFloatFilesMatchTransformers() throws {
        for model in try ReferenceFixtures.load().models where model.exact {
            for threads in [1, 2] {
                XCTAssertLessThanOrEqual(try check(model, threads: threads, cache: .f32), 1e-3, "\(model.file) threads \(threads)")
            }
        }
    }

    /// The default F16 KV cache: keys and values are rounded to 11 significant bits (relative error up to
    /// 2⁻¹¹ ≈ 4.9e-4 each), which moves logits of size ~1–10 by a few 1e-3 (measured ≤ 5e-3 on these
    /// files). Greedy tokens must still be the reference's (top-1 margins are > 0.04), and every logit
    /// within 2e-2: four times what was measured, and still a tenth of what a wrong key or value row costs.
    func testFloatFilesMatchTransformersWithTheF16Cache() throws {
        for model in try ReferenceFixtures.load().models where model.exact {
            XCTAssertLessThanOrEqual(try check(model, threads: 2, cache: .f16), 2e-2, model.file)
        }
    }

    /// Runs the reference's greedy steps, checks every token, and returns the largest logit difference.
    private func check(_ reference: ReferenceFixtures.Model, threads: Int, cache precision: KVCache.Precision) throws -> Float {
        let pool = ThreadPool(threads: threads)
        let model = try QwenModel(file: GGUFFile(path: TestPaths.fixture(reference.file)), pool: pool, maxContext: 128, maxBatch: 8,
                                  cachePrecision: precision)
        let cache = model.makeCache()
        let expected = try reference.logits()
        let v = reference.vocab
        XCTAssertEqual(model.config.vocabularySize, v)
        try model.forward(reference.prompt, cache: cache)
        var maxDiff: Float = 0
        for step in 0 ..< reference.logits_steps {
            for i in 0 ..< v {
                maxDiff = max(maxDiff, abs(model.logits[i] - expected[step * v + i]))
            }
            let argmax = (0 ..< v).max { model.logits[$0] < model.logits[$1] } ?? -1
            XCTAssertEqual(Int32(argmax), reference.greedy[step], "\(reference.file) step \(step) \(precision) cache")
            try model.forward([Int32(argmax)], cache: cache)
        }
        print("parity \(reference.file) threads=\(threads) \(precision) cache: max |logit diff| = \(maxDiff)")
        return maxDiff
    }
}

import Tokenizer

/// The fixtures' trained tokenizer reproduces the reference prompt ids (HF `tokenizers`).
final class FixtureTokenizerTests: XCTestCase {
    func testPromptTokenizesLikeHuggingFace() throws {
        let fixtures = try ReferenceFixtures.load()
        for reference in fixtures.models {
            let tokenizer = try QwenTokenizer(gguf: GGUFFile(path: TestPaths.fixture(reference.file)))
            XCTAssertEqual(tokenizer.encode(fixtures.prompt_text), reference.prompt, reference.file)
        }
    }
}
