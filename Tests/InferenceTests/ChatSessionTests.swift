import TestSupport
import Tokenizer
import Transformer
import XCTest
@testable import Inference

final class ChatSessionTests: XCTestCase {
    private func load(_ name: String = "tiny-qwen2-f32.gguf") throws -> LoadedModel {
        try LoadedModel(path: TestPaths.fixture(name), threads: 2, contextSize: 256)
    }

    /// Turns after the first prefill only their own tokens on top of the kept cache; the logits must be
    /// those of prefilling the whole conversation from scratch. Both runs do the same Float operations
    /// per token, so 1e-4 is loose.
    func testKeptCacheEqualsFullPrefill() throws {
        for fixture in ["tiny-qwen2-f32.gguf", "tiny-qwen3-f32.gguf"] {
            let loaded = try load(fixture)
            let template = try XCTUnwrap(loaded.template)
            let session = ChatSession(generator: loaded.generator, template: template, contextSize: 256)
            var sampler = Sampler(settings: .greedy)
            for message in ["Hello there", "你好 again"] {
                let result = try session.send(message, sampler: &sampler, maxTokens: 12) { _ in true }
                XCTAssertEqual(session.cache.count, session.tokens.count)
                XCTAssertLessThanOrEqual(result.tokens.count, 12)
            }
            let pending = session.pendingTokens(forUserText: "third")
            try loaded.model.forward(pending, cache: session.cache)
            let incremental = Array(UnsafeBufferPointer(start: loaded.model.logits, count: loaded.model.config.vocabularySize))

            let fresh = loaded.model.makeCache(contextSize: 256)
            try loaded.model.forward(session.tokens + pending, cache: fresh)
            for i in 0 ..< incremental.count {
                XCTAssertEqual(incremental[i], loaded.model.logits[i], accuracy: 1e-4, "\(fixture) logit \(i)")
            }
        }
    }

    /// The cache holds exactly: first turn (with default system prompt) + reply + <|im_end|>\n +
    /// second turn + reply.
    func testSessionTokensFollowTheTemplate() throws {
        let loaded = try load()
        let template = try XCTUnwrap(loaded.template)
        let session = ChatSession(generator: loaded.generator, template: template, contextSize: 256)
        var sampler = Sampler(settings: .greedy)
        let first = try session.send("Hi", sampler: &sampler, maxTokens: 5) { _ in true }
        let second = try session.send("Bye", sampler: &sampler, maxTokens: 5) { _ in true }
        let expected = template.render([ChatTurn(role: .user, content: "Hi")]) + first.tokens
            + [template.endOfTurn] + template.turnSeparator
            + template.turn(ChatTurn(role: .user, content: "Bye")) + template.generationPrompt() + second.tokens
        XCTAssertEqual(session.tokens, expected)
        XCTAssertEqual(session.exchangeCount, 2)
    }

    func testCancelKeepsCacheConsistent() throws {
        let loaded = try load()
        let cache = loaded.model.makeCache(contextSize: 256)
        var sampler = Sampler(settings: .greedy)
        var seen = 0
        let prompt = loaded.tokenizer.encode("Hello")
        let result = try loaded.generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: 50) { event in
            if event.sample != nil { seen += 1 }
            return seen < 3
        }
        XCTAssertEqual(result.stats.stopReason, .cancelled)
        XCTAssertEqual(result.tokens.count, 3)
        XCTAssertEqual(cache.count, prompt.count + 3)
    }

    func testMaxTokensFeedsEveryGeneratedToken() throws {
        let loaded = try load()
        let cache = loaded.model.makeCache(contextSize: 256)
        var sampler = Sampler(settings: .greedy)
        let prompt = loaded.tokenizer.encode("Hello")
        let result = try loaded.generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: 4) { _ in true }
        if result.stats.stopReason == .maxTokens {
            XCTAssertEqual(result.tokens.count, 4)
            XCTAssertEqual(cache.count, prompt.count + 4)
        } else {
            XCTAssertEqual(result.stats.stopReason, .endOfTurn)
            XCTAssertEqual(cache.count, prompt.count + result.tokens.count)
        }
    }

    func testPromptLongerThanContextIsRefusedWithoutTouchingTheCache() throws {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 1, contextSize: 32)
        let cache = loaded.model.makeCache(contextSize: 32)
        var sampler = Sampler(settings: .greedy)
        let prompt = [Int32](repeating: 5, count: 40)
        XCTAssertThrowsError(try loaded.generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: 4) { _ in true }) { error in
            XCTAssertEqual(error as? ForwardError, .contextFull(needed: 40, contextSize: 32))
            XCTAssertTrue("\(error)".contains("context is full"))
        }
        XCTAssertEqual(cache.count, 0)
    }

    func testGenerationStopsWhenTheContextFills() throws {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 1, contextSize: 24)
        let cache = loaded.model.makeCache(contextSize: 24)
        var sampler = Sampler(settings: .greedy)
        let prompt = [Int32](repeating: 5, count: 20)
        let result = try loaded.generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: 100) { _ in true }
        if result.stats.stopReason != .endOfTurn {
            XCTAssertEqual(result.stats.stopReason, .contextFull)
            XCTAssertEqual(cache.count, 24)
        }
    }

    func testInvalidTokenIsRefused() throws {
        let loaded = try load()
        let cache = loaded.model.makeCache(contextSize: 16)
        XCTAssertThrowsError(try loaded.model.forward([99_999], cache: cache)) { error in
            XCTAssertEqual(error as? ForwardError, .invalidToken(99_999, vocabularySize: loaded.model.config.vocabularySize))
        }
    }
}
