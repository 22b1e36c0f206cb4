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

    /// The prompt `make-fixtures.py` scored (its SENTIMENT_INSTRUCTION / SENTIMENT_REQUEST): no examples,
    /// one word per label, no bias, so the reference isolates the scoring arithmetic.
    static let fixturePrompt = SentimentPrompt(
        instruction: "You are a sentiment classifier. Read the user's message and answer with exactly one word: Positive, Negative or Neutral.",
        request: "Classify the sentiment of this message:\n\n",
        labels: ["Positive", "Negative", "Neutral"].map { SentimentPrompt.Label(name: $0) })

    private func classifier(_ fixture: String, prompt: SentimentPrompt = fixturePrompt, window: Int = 128) throws -> (LoadedModel, SentimentClassifier) {
        // An F32 KV cache: the reference comparison is of the scoring arithmetic, to 1e-3.
        let loaded = try LoadedModel(path: TestPaths.fixture(fixture), threads: 2, contextSize: 512, cachePrecision: .f32)
        let template = try XCTUnwrap(loaded.template)
        return (loaded, try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template,
                                                prompt: prompt, window: window))
    }

    /// Same prompt ids and label tokens as the reference; label scores (sums of 6–7 token logprobs)
    /// within 1e-3: both sides compute in fp32 on the same F32 weights, which the parity tests show
    /// agree to ~1e-5 per logit.
    func testLabelScoresMatchTransformers() throws {
        let reference = try TestPaths.loadJSON(Reference.self, "sentiment-reference.json")
        XCTAssertEqual(reference.labels, Self.fixturePrompt.labelNames)
        for (fixture, cases) in reference.models {
            let (_, classifier) = try classifier(fixture)
            XCTAssertEqual(classifier.labelWords.map { $0[0] }, cases.first?.label_tokens, fixture)
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

    /// A classification interrupted mid-prefill (as background work is when a message arrives) throws,
    /// leaves the cached prefix intact, and the same message classified again gets the scores it would
    /// have had: nothing half-done leaks into the next one.
    func testInterruptedClassificationLosesNothing() throws {
        let (_, classifier) = try classifier("tiny-qwen2-f32.gguf")
        let before = try classifier.classify("first message")
        var calls = 0
        XCTAssertThrowsError(try classifier.classify("a longer second message that gets interrupted", interrupt: {
            calls += 1
            return calls > 3  // a few layers in
        })) { XCTAssertEqual($0 as? ForwardError, .interrupted) }
        XCTAssertGreaterThan(calls, 3)
        let again = try classifier.classify("first message")
        for (a, b) in zip(before.scores, again.scores) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let uninterrupted = try classifier.classify("a longer second message that gets interrupted", usePrefixCache: false)
        let resumed = try classifier.classify("a longer second message that gets interrupted")
        for (a, b) in zip(uninterrupted.scores, resumed.scores) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// The fixed prompt is prefilled in chunks when it can be interrupted: an interruption keeps the chunks
    /// already done, the next call goes on from there, and the result equals an uninterrupted prefill.
    func testInterruptedPrefixKeepsItsFinishedChunks() throws {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: 512)
        let template = try XCTUnwrap(loaded.template)
        var prompt = Self.fixturePrompt  // with examples, long enough for two chunks in the fixture's small vocabulary
        prompt.examples = [.init("so good", "Positive"), .init("so bad", "Negative"), .init("it is Tuesday", "Neutral")]
        let classifier = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template, prompt: prompt)
        XCTAssertGreaterThan(classifier.prefixTokens.count, SentimentClassifier.prefixChunk, "needs two chunks at least")
        var checks = 0
        let checksPerChunk = 4 * loaded.model.config.layerCount
        XCTAssertThrowsError(try classifier.preparePrefix(interrupt: {
            checks += 1
            return checks > checksPerChunk + 2  // inside the second chunk
        })) { XCTAssertEqual($0 as? ForwardError, .interrupted) }
        XCTAssertEqual(classifier.prefixTokensCached, SentimentClassifier.prefixChunk)
        XCTAssertFalse(classifier.prefixReady)
        try classifier.preparePrefix(interrupt: { false })
        XCTAssertTrue(classifier.prefixReady)
        let resumed = try classifier.classify("fine, thanks")
        let fresh = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template, prompt: prompt)
        let whole = try fresh.classify("fine, thanks")
        for (a, b) in zip(resumed.scores, whole.scores) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    /// Examples become earlier exchanges of the cached prefix, answered by the label's first word; each
    /// label's score is log Σ p(word) over its words.
    func testExamplesAndLabelWords() throws {
        var prompt = Self.fixturePrompt
        prompt.examples = [.init("so good", "Positive"), .init("so bad", "Negative")]
        let (loaded, withExamples) = try classifier("tiny-qwen2-f32.gguf", prompt: prompt)
        let template = try XCTUnwrap(loaded.template)
        let expectedPrefix = template.turn(ChatTurn(role: .system, content: prompt.instruction))
            + template.turn(ChatTurn(role: .user, content: prompt.request + "so good"))
            + template.generationPrompt(thinking: false) + loaded.tokenizer.encode("Positive") + [template.endOfTurn] + template.turnSeparator
            + template.turn(ChatTurn(role: .user, content: prompt.request + "so bad"))
            + template.generationPrompt(thinking: false) + loaded.tokenizer.encode("Negative") + [template.endOfTurn] + template.turnSeparator
            + template.turnStart(.user) + loaded.tokenizer.encode(prompt.request)
        XCTAssertEqual(withExamples.prefixTokens, expectedPrefix)
        // A two-word label against its words scored one at a time (no examples here: an example is
        // answered with its label's first word, which would change the prompt between the three).
        var twoWords = Self.fixturePrompt
        twoWords.labels[0].words = ["Positive", "good"]
        var positiveOnly = Self.fixturePrompt
        positiveOnly.labels[0].words = ["Positive"]
        var goodOnly = Self.fixturePrompt
        goodOnly.labels[0].words = ["good"]
        let both = try classifier("tiny-qwen2-f32.gguf", prompt: twoWords).1.classify("fine").scores[0]
        let a = try classifier("tiny-qwen2-f32.gguf", prompt: positiveOnly).1.classify("fine").scores[0]
        let b = try classifier("tiny-qwen2-f32.gguf", prompt: goodOnly).1.classify("fine").scores[0]
        XCTAssertEqual(both, log(exp(a) + exp(b)), accuracy: 1e-4)
    }

    /// A label's bias is added to its score before the softmax: probabilities move, raw scores do not.
    func testBiasShiftsTheProbabilities() throws {
        let (_, plain) = try classifier("tiny-qwen2-f32.gguf")
        var prompt = Self.fixturePrompt
        prompt.labels[2].bias = 2
        let (_, biased) = try classifier("tiny-qwen2-f32.gguf", prompt: prompt)
        let a = try plain.classify("great!"), b = try biased.classify("great!")
        XCTAssertEqual(a.scores, b.scores, "raw scores are the model's")
        let odds = { (r: SentimentClassifier.Result) in log(Double(r.probabilities[2]) / Double(r.probabilities[0])) }
        XCTAssertEqual(odds(b) - odds(a), 2, accuracy: 1e-4, "Neutral gains exactly its bias in log-odds")
        prompt.labels[2].bias = 50
        XCTAssertEqual(try classifier("tiny-qwen2-f32.gguf", prompt: prompt).1.classify("great!").label, "Neutral")
    }

    /// A message longer than the window is read as its beginning (3/4) and its end (1/4).
    func testLongMessagesAreReadAsBeginningAndEnd() throws {
        let (loaded, classifier) = try classifier("tiny-qwen2-f32.gguf", window: 40)
        let text = "START " + String(repeating: "words and more words ", count: 50) + " END"
        let all = loaded.tokenizer.encode(text)
        let (tokens, truncated) = classifier.messageTokens(for: text)
        XCTAssertEqual(tokens, Array(all.prefix(30) + all.suffix(10)))
        XCTAssertEqual(truncated, all.count - 40)
        let result = try classifier.classify(text)
        XCTAssertEqual(result.truncatedTokens, truncated)
        XCTAssertEqual(Double(result.probabilities.reduce(0, +)), 1, accuracy: 1e-5)
        XCTAssertEqual(classifier.messageTokens(for: "short").truncated, 0)
    }
}
