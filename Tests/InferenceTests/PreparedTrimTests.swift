import TestSupport
import Tokenizer
import Transformer
import XCTest
@testable import Inference

/// A trim prepared ahead (`ChatSession.prepareTrim`, the engine's idle time): once the next trim can be
/// planned, what it keeps is prefilled into a second cache; the trim then copies it over. It must keep exactly the tokens it planned, at the same positions, with a cache
/// equal to a fresh prefill of them, and survive interruptions and messages sent in between.
final class PreparedTrimTests: XCTestCase {
    private func session(contextSize: Int) throws -> (LoadedModel, ChatSession) {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: contextSize)
        let template = try XCTUnwrap(loaded.template)
        return (loaded, ChatSession(generator: loaded.generator, template: template, contextSize: contextSize, systemPrompt: "Be brief."))
    }

    /// Sends numbered messages until the next trim can be planned, none of them trimming; returns how many
    /// were sent.
    private func fillUntilATrimIsNear(_ chat: ChatSession, _ sampler: inout Sampler, from first: Int = 1) throws -> Int {
        var sent = first - 1
        while chat.trimReadiness == nil {
            sent += 1
            var trimmed = false
            _ = try chat.send("Message number \(sent): tell me more about it", sampler: &sampler, maxTokens: 16,
                              onTrim: { _ in trimmed = true }) { _ in true }
            XCTAssertFalse(trimmed, "message \(sent) trimmed before the trim was near")
            XCTAssertLessThan(sent, first + 60, "the conversation never came near a trim")
            if sent >= first + 60 { break }
        }
        return sent
    }

    /// The trim keeps the planned exchanges: the system turn, then the history from the first kept one,
    /// then the new turn; nothing of it is prefilled again, and the cache equals a fresh prefill of what
    /// the session holds (`assertCacheMatchesTokens`: logits within 1e-4, same float operations per token).
    func testAPreparedTrimKeepsWhatItPlannedAndPrefillsNothingAgain() throws {
        let (loaded, chat) = try session(contextSize: 256)
        var sampler = Sampler(settings: .greedy)
        var sent = try fillUntilATrimIsNear(chat, &sampler)
        let near = try XCTUnwrap(chat.trimReadiness)
        XCTAssertEqual(near.preparedTokens, 0)
        XCTAssertFalse(near.isReady)
        try chat.prepareTrim()
        let ready = try XCTUnwrap(chat.trimReadiness)
        XCTAssertTrue(ready.isReady)
        XCTAssertLessThanOrEqual(ready.tokens, 128, "it keeps at most half the context")
        // What the trim will keep, read off the session before it: the system turn, then the exchanges
        // after the dropped ones.
        let system = chat.template.turn(ChatTurn(role: .system, content: "Be brief."))
        let keptHistory = Array(chat.tokens.suffix(ready.tokens - system.count))
        let keptMessages = Array(chat.userMessages(loaded.tokenizer).dropFirst(ready.droppedMessages / 2))
        // Messages until one trims (it may take more than one: the trim comes when the next turn would not fit).
        var trims: [ChatSession.ContextTrim] = []
        var newMessages: [String] = []
        while trims.isEmpty {
            sent += 1
            let text = "Message number \(sent): tell me more about it"
            newMessages.append(text)
            _ = try chat.send(text, sampler: &sampler, maxTokens: 16, onTrim: { trims.append($0) }) { _ in true }
            XCTAssertLessThan(newMessages.count, 16, "no trim came")
            if newMessages.count >= 16 { return }
        }
        XCTAssertEqual(trims.count, 2, "told before and after")
        XCTAssertEqual(trims[1].droppedMessages, ready.droppedMessages, "the planned exchanges left")
        XCTAssertEqual(trims[1].preparedTokens, ready.tokens - system.count, "all of the preparation was used")
        // The new turn is the reply's own prompt; exchanges made after the preparation are prefilled.
        XCTAssertEqual(trims[1].prefilledTokens == 0, newMessages.count == 1, "\(trims[1]), \(newMessages.count) messages")
        XCTAssertEqual(Array(chat.tokens.prefix(ready.tokens)), system + keptHistory, "the same tokens at the same positions")
        XCTAssertEqual(chat.userMessages(loaded.tokenizer), keptMessages + newMessages)
        XCTAssertEqual(Array(chat.tokens.prefix(system.count)), system)
        try assertCacheMatchesTokens(loaded, chat)
    }

    /// Interrupted between layers, the preparation keeps the chunks it finished; a message sent in between
    /// (which does not trim yet) does not lose them; the next call finishes, and the trim uses it all.
    func testAnInterruptedPreparationGoesOnAfterAMessage() throws {
        let (loaded, chat) = try session(contextSize: 512)
        var sampler = Sampler(settings: .greedy)
        var sent = try fillUntilATrimIsNear(chat, &sampler)
        // Until what the trim keeps takes two chunks (it grows with the history until a plan is made).
        while let near = chat.trimReadiness, near.tokens <= ChatSession.trimChunk + 8, sent < 60 {
            sent += 1
            var trimmed = false
            _ = try chat.send("Message number \(sent): tell me more about it", sampler: &sampler, maxTokens: 16,
                              onTrim: { _ in trimmed = true }) { _ in true }
            XCTAssertFalse(trimmed)
        }
        let near = try XCTUnwrap(chat.trimReadiness)
        XCTAssertGreaterThan(near.tokens, ChatSession.trimChunk, "needs two chunks at least")
        var checks = 0
        let checksPerChunk = 4 * loaded.model.config.layerCount
        XCTAssertThrowsError(try chat.prepareTrim(interrupt: {
            checks += 1
            return checks > checksPerChunk + 2  // inside the second chunk
        })) { XCTAssertEqual($0 as? ForwardError, .interrupted) }
        XCTAssertEqual(chat.trimReadiness?.preparedTokens, ChatSession.trimChunk, "the first chunk is kept")
        // A message goes first (in the engine it pre-empts the preparation); it does not trim yet.
        var trimmed = false
        sent += 1
        _ = try chat.send("Message number \(sent): tell me more about it", sampler: &sampler, maxTokens: 16,
                          onTrim: { _ in trimmed = true }) { _ in true }
        XCTAssertFalse(trimmed, "a message that does not fill the context does not trim")
        let after = try XCTUnwrap(chat.trimReadiness)
        XCTAssertEqual(after.droppedMessages, near.droppedMessages, "the plan stands")
        XCTAssertEqual(after.preparedTokens, ChatSession.trimChunk, "what was prepared is still good")
        XCTAssertGreaterThan(after.tokens, near.tokens, "the new exchange is to be kept too")
        try chat.prepareTrim(interrupt: { false })
        XCTAssertEqual(chat.trimReadiness?.isReady, true)
        let ready = try XCTUnwrap(chat.trimReadiness)
        var trims: [ChatSession.ContextTrim] = []
        while trims.isEmpty, sent < 120 {
            sent += 1
            _ = try chat.send("Message number \(sent): tell me more about it", sampler: &sampler, maxTokens: 16,
                              onTrim: { trims.append($0) }) { _ in true }
        }
        XCTAssertEqual(trims.last?.droppedMessages, ready.droppedMessages)
        let system = chat.template.turn(ChatTurn(role: .system, content: "Be brief."))
        XCTAssertEqual(trims.last?.preparedTokens, ready.tokens - system.count, "what was prepared before and after the message")
        try assertCacheMatchesTokens(loaded, chat)
    }

    /// Taking exchanges back (/edit, /regen) under a prepared trim: what it holds of them no longer counts,
    /// and the trim that comes prefills what changed. The cache always equals a fresh prefill.
    func testAPreparedTrimUnderAChangedConversationUsesOnlyWhatStillMatches() throws {
        let (loaded, chat) = try session(contextSize: 256)
        var sampler = Sampler(settings: .greedy)
        var sent = try fillUntilATrimIsNear(chat, &sampler)
        try chat.prepareTrim()
        XCTAssertEqual(chat.trimReadiness?.isReady, true)
        XCTAssertTrue(chat.dropLastExchange())
        // The last exchange is made again with another message: the prepared tail no longer matches.
        var trims: [ChatSession.ContextTrim] = []
        while trims.isEmpty, sent < 60 {
            sent += 1
            _ = try chat.send("Another message \(sent), worded differently", sampler: &sampler, maxTokens: 16,
                              onTrim: { trims.append($0) }) { _ in true }
        }
        XCTAssertFalse(trims.isEmpty)
        try assertCacheMatchesTokens(loaded, chat)
    }
}
