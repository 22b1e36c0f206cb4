import Foundation
import TestSupport
import Tokenizer
import Transformer
import XCTest
@testable import Inference

/// The classifier's machinery against `transformers` (sentiment-reference.json from the fixture
/// script). Accuracy is meaningless on random tiny models; what is checked is the prompt, the label
/// scoring and the prefix cache.
final class SentimentClassifierTests: XCTestCase {
    struct Reference: Decodable {
        struct Case: Decodable {
            let message: String
            let prompt: [Int32]
            let label_tokens: [[Int32]]
            let scores: [Double]
            let probabilities: [Double]
        }
        let labels: [String]
        let models: [String: [Case]]
    }

    private func classifier(_ fixture: String) throws -> (LoadedModel, SentimentClassifier) {
        let loaded = try LoadedModel(path: TestPaths.fixture(fixture), threads: 2, contextSize: 512)
        let template = try XCTUnwrap(loaded.template)
        return (loaded, try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template))
    }

    /// Same prompt ids and label tokens as the reference; label scores (sums of 6–7 token logprobs)
    /// within 1e-3: both sides compute in fp32 on the same F32 weights, which the parity tests show
    /// agree to ~1e-5 per logit.
    func testLabelScoresMatchTransformers() throws {
        let reference = try TestPaths.loadJSON(Reference.self, "sentiment-reference.json")
        XCTAssertEqual(reference.labels, SentimentClassifier.defaultLabels)
        for (fixture, cases) in reference.models {
            let (_, classifier) = try classifier(fixture)
            XCTAssertEqual(classifier.labelTokens, cases.first?.label_tokens, fixture)
            for c in cases {
                XCTAssertEqual(classifier.promptTokens(for: c.message).tokens, c.prompt, "\(fixture): \(c.message)")
                let result = try classifier.classify(c.message)
                for (ours, theirs) in zip(result.scores, c.scores) {
                    XCTAssertEqual(ours, theirs, accuracy: 1e-3, "\(fixture): \(c.message)")
                }
                XCTAssertEqual(Double(result.probabilities.reduce(0, +)), 1, accuracy: 1e-5)
                let best = c.probabilities.indices.max { c.probabilities[$0] < c.probabilities[$1] } ?? -1
                XCTAssertEqual(result.label, reference.labels[best])
            }
        }
    }

    /// With the prefix cached once and reused across messages, the answer is the one a full prefill of
    /// each prompt gives. Scores agree to 1e-5, not bit for bit: a longer batch takes the prefill
    /// kernels, which sum in another order.
    func testPrefixCacheGivesTheSameResult() throws {
        let (_, classifier) = try classifier("tiny-qwen3-f32.gguf")
        let messages = ["great!", "awful, just awful", "ok", "great!"]
        let cached = try messages.map { try classifier.classify($0) }
        let uncached = try messages.map { try classifier.classify($0, usePrefixCache: false) }
        for (a, b) in zip(cached, uncached) {
            XCTAssertEqual(a.label, b.label)
            for (x, y) in zip(a.scores, b.scores) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
        // Classifying the same message again after others gives the same scores: the cache was restored.
        for (x, y) in zip(cached[0].scores, cached[3].scores) { XCTAssertEqual(x, y, accuracy: 1e-6) }
    }

    /// In a chat turn the user's sentiment comes before the first token, the reply's after the last,
    /// and the conversation (tokens and cache) is exactly what it is without the classifier.
    func testChatTurnOrderAndUntouchedConversation() throws {
        let (loaded, classifier) = try classifier("tiny-qwen2-f32.gguf")
        let template = try XCTUnwrap(loaded.template)
        var order: [String] = []
        let with = ChatSession(generator: loaded.generator, template: template, contextSize: 256)
        var sampler = Sampler(settings: .greedy)
        _ = try with.send("Hello there", sampler: &sampler, maxTokens: 6, classifier: classifier) { event in
            switch event {
            case .userSentiment: order.append("user")
            case .token: if order.last != "token" { order.append("token") }
            case .replyFinished: order.append("finished")
            case .assistantSentiment: order.append("assistant")
            }
            return true
        }
        XCTAssertEqual(order, ["user", "token", "finished", "assistant"])
        let without = ChatSession(generator: loaded.generator, template: template, contextSize: 256)
        var sampler2 = Sampler(settings: .greedy)
        _ = try without.send("Hello there", sampler: &sampler2, maxTokens: 6) { _ in true }
        XCTAssertEqual(with.tokens, without.tokens)
        XCTAssertEqual(with.cache.count, without.cache.count)
    }

    func testLongMessagesAreCutToTheContext() throws {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 1, contextSize: 512)
        let classifier = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer,
                                                 template: try XCTUnwrap(loaded.template), maxMessageTokens: 40)
        let result = try classifier.classify(String(repeating: "words and more words ", count: 50))
        XCTAssertGreaterThan(result.truncatedTokens, 0)
        XCTAssertEqual(Double(result.probabilities.reduce(0, +)), 1, accuracy: 1e-5)
    }
}
