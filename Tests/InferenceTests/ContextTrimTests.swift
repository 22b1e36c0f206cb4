import TestSupport
import Tokenizer
import Transformer
import XCTest
@testable import Inference

extension ChatSession {
    /// The user messages in the cache, read back from its tokens (the session keeps no text of its own).
    func userMessages(_ tokenizer: QwenTokenizer) -> [String] {
        tokenizer.decode(tokens).components(separatedBy: "<|im_start|>user\n").dropFirst()
            .map { $0.components(separatedBy: "<|im_end|>")[0] }
    }
}

extension XCTestCase {
    /// The cache must hold exactly `chat.tokens`: the logits of one more token on top of it equal those of
    /// prefilling `tokens` and that token from scratch. Same float operations per token: 1e-4 is loose.
    func assertCacheMatchesTokens(_ loaded: LoadedModel, _ chat: ChatSession, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(chat.cache.count, chat.tokens.count, "cache length", file: file, line: line)
        let probe: [Int32] = [chat.template.endOfTurn]
        try loaded.model.forward(probe, cache: chat.cache)
        let incremental = Array(UnsafeBufferPointer(start: loaded.model.logits, count: loaded.model.config.vocabularySize))
        chat.cache.truncate(to: chat.tokens.count)
        let fresh = loaded.model.makeCache(contextSize: chat.cache.contextSize)
        try loaded.model.forward(chat.tokens + probe, cache: fresh)
        for i in stride(from: 0, to: incremental.count, by: 97) {
            XCTAssertEqual(incremental[i], loaded.model.logits[i], accuracy: 1e-4, "logit \(i)", file: file, line: line)
        }
    }
}

/// A conversation longer than the context: the oldest exchanges leave it, the system turn stays, and the
/// cache still equals a fresh prefill of what the session says it holds.
final class ContextTrimTests: XCTestCase {
    /// A short system prompt: the tiny fixture's vocabulary spells the default one in ~90 tokens.
    private func session(contextSize: Int, systemPrompt: String? = "Be brief.") throws -> (LoadedModel, ChatSession) {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: contextSize)
        let template = try XCTUnwrap(loaded.template)
        return (loaded, ChatSession(generator: loaded.generator, template: template, contextSize: contextSize,
                                    systemPrompt: systemPrompt))
    }

    func testFullContextDropsTheOldestExchangesAndGoesOn() throws {
        let (loaded, chat) = try session(contextSize: 160, systemPrompt: "Be brief.")
        let system = chat.template.turn(ChatTurn(role: .system, content: "Be brief."))
        var sampler = Sampler(settings: .greedy)
        var trims: [ChatSession.ContextTrim] = []
        for i in 1 ... 12 {
            let text = "Message number \(i): tell me more about it"
            _ = try chat.send(text, sampler: &sampler, maxTokens: 16, onTrim: { trims.append($0) }) { _ in true }
            XCTAssertLessThanOrEqual(chat.tokens.count, 160)
            XCTAssertEqual(Array(chat.tokens.prefix(system.count)), system, "the system turn stays after message \(i)")
            XCTAssertEqual(chat.userMessages(loaded.tokenizer).last, text)
            XCTAssertEqual(chat.userMessages(loaded.tokenizer).count, chat.exchangeCount)
        }
        XCTAssertFalse(trims.isEmpty, "twelve exchanges of ~35 tokens cannot fit in 160")
        XCTAssertLessThan(chat.exchangeCount, 12)
        for trim in trims { XCTAssertTrue(trim.droppedMessages >= 2 && trim.droppedMessages % 2 == 0, "\(trim)") }
        // Each trim is told twice: before its prefill (no time yet), then with its time.
        XCTAssertEqual(trims.count % 2, 0)
        for pair in stride(from: 0, to: trims.count, by: 2) {
            XCTAssertNil(trims[pair].seconds)
            XCTAssertNotNil(trims[pair + 1].seconds)
            XCTAssertEqual(trims[pair].droppedMessages, trims[pair + 1].droppedMessages)
        }
        // The kept messages are the newest ones, in order.
        XCTAssertEqual(chat.userMessages(loaded.tokenizer),
                       (13 - chat.exchangeCount ... 12).map { "Message number \($0): tell me more about it" })
        try assertCacheMatchesTokens(loaded, chat)
        // What stays is the system turn, then whole exchanges: the first kept one starts with its user turn.
        let userStart = chat.template.turnStart(.user)
        XCTAssertEqual(Array(chat.tokens[system.count ..< system.count + userStart.count]), userStart)
    }

    /// A reply that reaches the end of the context goes on after the oldest exchanges leave it. The random
    /// fixture ends some replies at once: the first of a few messages whose reply runs long is used.
    func testReplyThatFillsTheContextIsContinued() throws {
        for message in ["Tell me everything", "Three, at length", "Go on", "More please", "Explain it all", "Why?"] {
            let (loaded, chat) = try session(contextSize: 256)
            var sampler = Sampler(settings: .greedy)
            for text in ["One", "Two"] { _ = try chat.send(text, sampler: &sampler, maxTokens: 24) { _ in true } }
            let before = chat.tokens.count
            var trims: [ChatSession.ContextTrim] = []
            var streamed = 0
            let result = try chat.send(message, sampler: &sampler, maxTokens: 200, onTrim: { trims.append($0) }) { event in
                if event.sample != nil { streamed += 1 }
                return true
            }
            if result.stats.stopReason == .endOfTurn, trims.isEmpty { continue }
            XCTAssertGreaterThan(before + 200, 256, "the reply cannot fit without a trim")
            XCTAssertEqual(result.stats.stopReason, .maxTokens, "the reply went on past the end of the context")
            XCTAssertEqual(result.tokens.count, 200)
            XCTAssertEqual(streamed, 200)
            XCTAssertFalse(trims.isEmpty)
            XCTAssertLessThanOrEqual(trims.filter { $0.seconds != nil }.reduce(0) { $0 + $1.droppedMessages }, 4)
            XCTAssertEqual(chat.userMessages(loaded.tokenizer).last, message)
            XCTAssertEqual(Array(chat.tokens.suffix(200)), result.tokens, "the whole reply is in the cache")
            try assertCacheMatchesTokens(loaded, chat)
            return
        }
        XCTFail("no message got a reply long enough to fill the context")
    }

    /// A reply longer than the whole context stops, marked, and the conversation is still consistent.
    func testReplyLongerThanTheContextStops() throws {
        let (_, chat) = try session(contextSize: 128)
        var sampler = Sampler(settings: .greedy)
        let result = try chat.send("Tell me everything", sampler: &sampler, maxTokens: 500) { _ in true }
        XCTAssertEqual(result.stats.stopReason, .contextFull)
        XCTAssertEqual(chat.cache.count, 128)
        XCTAssertEqual(chat.tokens.count, 128)
    }

    func testMessageLongerThanTheContextIsRefusedAndChangesNothing() throws {
        let (_, chat) = try session(contextSize: 64)
        var sampler = Sampler(settings: .greedy)
        _ = try chat.send("Hi", sampler: &sampler, maxTokens: 4) { _ in true }
        let tokens = chat.tokens
        XCTAssertThrowsError(try chat.send(String(repeating: "many words ", count: 60), sampler: &sampler, maxTokens: 4) { _ in true }) { error in
            guard case .messageTooLong(_, 64)? = error as? ChatSession.ChatError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("raise --ctx-size"), "\(error)")
        }
        XCTAssertEqual(chat.tokens, tokens)
        XCTAssertEqual(chat.cache.count, tokens.count)
        XCTAssertEqual(chat.exchangeCount, 1)
    }

    /// A long saved chat (400 exchanges of 100 words) keeps its newest exchanges that fit the budget, in order.
    func testRestoringALongChatKeepsTheNewestThatFit() throws {
        let (loaded, chat) = try session(contextSize: 1024)
        let words = (0 ..< 100).map { _ in "w" }.joined(separator: " ")
        var history: [ChatTurn] = []
        for i in 0 ..< 400 {
            history += [ChatTurn(role: .user, content: "q\(i) " + words), ChatTurn(role: .assistant, content: "a\(i) " + words)]
        }
        let dropped = try chat.restore(history, budget: 768)
        XCTAssertGreaterThan(chat.exchangeCount, 0)
        XCTAssertEqual(dropped + 2 * chat.exchangeCount, 800)
        XCTAssertEqual(chat.userMessages(loaded.tokenizer),
                       history.suffix(2 * chat.exchangeCount).filter { $0.role == .user }.map(\.content))
        XCTAssertLessThanOrEqual(chat.tokens.count, 768)
        try assertCacheMatchesTokens(loaded, chat)
    }

    /// `/continue`: a reply stopped at the token limit and continued is, token for token, the reply that
    /// one longer limit gives (greedy: the last token is fed again at the same position, same logits).
    func testContinuedReplyEqualsOneLongerReply() throws {
        for message in ["Tell me everything", "Three, at length", "Go on", "More please"] {
            let (loaded, whole) = try session(contextSize: 256)
            var sampler = Sampler(settings: .greedy)
            let long = try whole.send(message, sampler: &sampler, maxTokens: 24) { _ in true }
            guard long.stats.stopReason == .maxTokens else { continue }  // the random model ended it early
            let (_, chat) = try session(contextSize: 256)
            let first = try chat.send(message, sampler: &sampler, maxTokens: 10) { _ in true }
            XCTAssertEqual(first.stats.stopReason, .maxTokens)
            let rest = try chat.continueReply(sampler: &sampler, maxTokens: 14) { _ in true }
            XCTAssertEqual(first.tokens + rest.tokens, long.tokens)
            XCTAssertEqual(chat.exchangeCount, 1, "one exchange, the reply grown by the continuation")
            XCTAssertEqual(chat.tokens, whole.tokens)
            try assertCacheMatchesTokens(loaded, chat)
            return
        }
        XCTFail("no message got a reply of 24 tokens")
    }

    func testNothingToContinueBeforeTheFirstReply() throws {
        let (_, chat) = try session(contextSize: 64)
        var sampler = Sampler(settings: .greedy)
        XCTAssertThrowsError(try chat.continueReply(sampler: &sampler, maxTokens: 4) { _ in true }) { error in
            XCTAssertEqual(error as? ChatSession.ChatError, .nothingToContinue)
        }
        XCTAssertEqual(chat.cache.count, 0)
    }
}
