import TestSupport
import Tokenizer
import Transformer
import XCTest
@testable import Inference

/// Taking turns back (/edit, /regen) and rebuilding saved conversations (resume, /system).
final class ConversationEditingTests: XCTestCase {
    private func session(contextSize: Int = 256) throws -> (LoadedModel, ChatSession) {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: contextSize)
        let template = try XCTUnwrap(loaded.template)
        return (loaded, ChatSession(generator: loaded.generator, template: template, contextSize: contextSize))
    }

    /// Dropping the last exchange leaves exactly the state before it: same tokens, and (greedy) the same
    /// reply when the message is sent again, which only holds if the cache content is right too.
    func testDropLastExchangeRestoresThePreviousState() throws {
        let (_, chat) = try session()
        var sampler = Sampler(settings: .greedy)
        _ = try chat.send("First", sampler: &sampler, maxTokens: 6) { _ in true }
        let tokensBefore = chat.tokens
        let reply = try chat.send("Second", sampler: &sampler, maxTokens: 6) { _ in true }
        XCTAssertTrue(chat.dropLastExchange())
        XCTAssertEqual(chat.tokens, tokensBefore)
        XCTAssertEqual(chat.cache.count, tokensBefore.count)
        XCTAssertEqual(chat.exchangeCount, 1)
        let again = try chat.send("Second", sampler: &sampler, maxTokens: 6) { _ in true }
        XCTAssertEqual(again.tokens, reply.tokens)
        XCTAssertTrue(chat.dropLastExchange())
        XCTAssertTrue(chat.dropLastExchange())
        XCTAssertFalse(chat.dropLastExchange())
        XCTAssertEqual(chat.cache.count, 0)
    }

    /// A restored conversation is the template's rendering of the saved messages, in the cache.
    func testRestoreRebuildsTheRenderedConversation() throws {
        let (loaded, chat) = try session()
        let template = try XCTUnwrap(loaded.template)
        chat.systemPrompt = "Be brief."
        let history = [ChatTurn(role: .user, content: "Hi"), ChatTurn(role: .assistant, content: "Hello!"),
                       ChatTurn(role: .user, content: "Bye"), ChatTurn(role: .assistant, content: "Goodbye.")]
        XCTAssertEqual(try chat.restore(history), 0)
        let expected = template.turn(ChatTurn(role: .system, content: "Be brief."))
            + template.turn(history[0]) + template.generationPrompt(thinking: true) + loaded.tokenizer.encode("Hello!")
            + [template.endOfTurn] + template.turnSeparator
            + template.turn(history[2]) + template.generationPrompt(thinking: true) + loaded.tokenizer.encode("Goodbye.")
        XCTAssertEqual(chat.tokens, expected)
        XCTAssertEqual(chat.cache.count, expected.count)
        XCTAssertEqual(chat.exchangeCount, 2)
        XCTAssertTrue(chat.dropLastExchange(), "restored turns can be taken back too")
        XCTAssertEqual(chat.tokens, Array(expected.prefix(chat.tokens.count)))
        XCTAssertEqual(chat.exchangeCount, 1)
    }

    func testRestoreLeavesOutTheOldestExchangesThatDoNotFit() throws {
        let (loaded, chat) = try session()
        let long = String(repeating: "word ", count: 40)
        let history = [ChatTurn(role: .user, content: long), ChatTurn(role: .assistant, content: long),
                       ChatTurn(role: .user, content: "short"), ChatTurn(role: .assistant, content: "ok"),
                       ChatTurn(role: .user, content: "unanswered")]
        try chat.restore(Array(history[2 ..< 4]))
        let budget = chat.cache.count + 2  // room for the short exchange only
        let dropped = try chat.restore(history, budget: budget)
        XCTAssertEqual(dropped, 3, "the long first exchange and the unanswered message")
        XCTAssertEqual(chat.userMessages(loaded.tokenizer), ["short"])
        XCTAssertEqual(chat.exchangeCount, 1)
        XCTAssertLessThanOrEqual(chat.cache.count, budget)
    }
}

final class EngineTests: XCTestCase {
    private func events(from engine: Engine, until done: ([Engine.Event]) -> Bool) -> [Engine.Event] {
        var all: [Engine.Event] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            var fds = [pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, 100)
            all += engine.drainEvents()
            if done(all) { return all }
        }
        XCTFail("timed out; events so far: \(all)")
        return all
    }

    /// An engine whose classifier has its fixed prompt cached (waited for), so badges run in queue order.
    private func warmEngine(contextSize: Int = 256, maxReplyTokens: Int = 8) throws -> Engine {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: contextSize)
        let engine = try Engine(loaded: loaded, samplerSettings: .greedy, maxReplyTokens: maxReplyTokens, prepareSentiment: false)
        let warmUp = engine.enqueue(.classify("warm-up", .normal))
        _ = events(from: engine) { $0.contains { self.kind($0) == ("sentiment", warmUp) } }
        return engine
    }

    /// The event's kind and the request it answers.
    private func kind(_ event: Engine.Event) -> (String, Engine.RequestID) {
        switch event {
        case .sentiment(let id, _): return ("sentiment", id)
        case .firstToken(let id, _): return ("first-token", id)
        case .token(let id, _, _, _): return ("token", id)
        case .replyDone(let id, _): return ("done", id)
        case .restored(let id, _): return ("restored", id)
        case .contextSaved(let id, _, _): return ("saved", id)
        case .contextTrimmed(let id, _): return ("trimmed", id)
        case .context(let id, _): return ("context", id)
        case .error(let id, _): return ("error", id)
        }
    }

    /// Every event names its request; jobs run in order; a reply reports its first token (with the wait
    /// since it was queued) before its text, and closes with its whole text.
    func testEventsNameTheirRequestsAndJobsRunInOrder() throws {
        let engine = try warmEngine()
        defer { engine.shutdown() }
        let badge = engine.enqueue(.classify("Hello", .normal))
        let reply = engine.enqueue(.send(ExchangeID(1), "Hello"))
        XCTAssertNotEqual(badge, reply)
        let all = events(from: engine) { $0.contains { self.kind($0) == ("context", reply) } }
        let kinds = all.map(kind)
        XCTAssertEqual(kinds.first?.0, "sentiment")
        XCTAssertEqual(kinds.first?.1, badge)
        XCTAssertEqual(kinds.dropFirst().first?.0, "first-token")
        XCTAssertEqual(kinds.suffix(2).map(\.0), ["done", "context"], "the reply ends, then the context after it is reported")
        XCTAssertTrue(kinds.dropFirst().allSatisfy { $0.1 == reply }, "everything after the badge is the reply's")
        var streamed = ""
        for case .token(_, let text, _, _) in all { streamed += text }
        guard case .replyDone(_, let summary) = all.dropLast().last, case .context(_, let context) = all.last else {
            return XCTFail("no summary")
        }
        XCTAssertEqual(summary.contextUsed, engine.session.cache.count, "the engine is idle now: its session may be read")
        XCTAssertEqual(context.exchanges, [ExchangeID(1)], "the exchange is recorded under the id the job gave")
        XCTAssertEqual(context.tokens, engine.session.tokens)
        let template = try XCTUnwrap(engine.loaded.template)
        XCTAssertEqual(engine.loaded.tokenizer.decode(Array(context.tokens.suffix(summary.stats.evalTokens))), streamed,
                       "the text streamed is the reply the context holds")
        guard case .firstToken(_, let first) = all[1] else { return XCTFail("no first-token event") }
        XCTAssertGreaterThanOrEqual(first.waitSeconds, summary.stats.timeToFirstToken, "the wait includes the badge before it")
        XCTAssertEqual(first.promptTokens, summary.stats.promptTokens, "the prefill is known at the first token")
        XCTAssertLessThanOrEqual(first.contextUsed, summary.contextUsed)

        // A drop names its exchange: one the context does not hold changes nothing.
        let stranger = engine.enqueue(.drop(ExchangeID(99)))
        guard case .context(_, let unchanged)? = events(from: engine, until: { $0.contains { self.kind($0) == ("context", stranger) } }).last else {
            return XCTFail("no context report")
        }
        XCTAssertEqual(unchanged, context)
        engine.enqueue(.drop(ExchangeID(1)))
        let again = engine.enqueue(.send(ExchangeID(2), "Hello"))
        _ = events(from: engine) { $0.contains { self.kind($0) == ("context", again) } }
        let continued = engine.enqueue(.continueReply(ExchangeID(1)))
        let refused = events(from: engine) { $0.contains { self.kind($0) == ("context", continued) } }
        XCTAssertTrue(refused.contains { if case .error(continued, let m) = $0 { return m.contains("no longer the last") } else { return false } },
                      "exchange 1 was taken back: it cannot be continued")
        let history = [ChatSession.Exchange(id: ExchangeID(5), user: "a", reply: "b")]
        let restore = engine.enqueue(.restore(history, systemPrompt: "Be brief."))
        let restored = events(from: engine) { $0.contains { self.kind($0) == ("context", restore) } }
        XCTAssertEqual(restored.map(kind).map(\.0), ["restored", "context"])
        guard case .context(_, let rebuilt)? = restored.last else { return XCTFail("no context report") }
        XCTAssertEqual(rebuilt.exchanges, [ExchangeID(5)])
        engine.shutdown()
        XCTAssertEqual(engine.session.tokens, template.turn(ChatTurn(role: .system, content: "Be brief."))
            + template.turn(ChatTurn(role: .user, content: "a")) + template.generationPrompt(thinking: false) + engine.loaded.tokenizer.encode("b"))
        XCTAssertEqual(engine.session.systemPrompt, "Be brief.")
    }

    /// A finished reply's badge is background work: queued before the next message, it still runs after
    /// that message's badge and reply, so the reply never waits for it.
    func testBackgroundClassificationWaitsForTheNextMessage() throws {
        let engine = try warmEngine(contextSize: 512, maxReplyTokens: 64)
        defer { engine.shutdown() }
        // All queued while the first reply is still being generated.
        let first = engine.enqueue(.send(ExchangeID(1), "Tell me a long story"))
        let previousBadge = engine.enqueue(.classify(String(repeating: "a long reply ", count: 40), .background))
        let badge = engine.enqueue(.classify("next message", .normal))
        let reply = engine.enqueue(.send(ExchangeID(2), "next message"))
        let all = events(from: engine) { $0.contains { self.kind($0) == ("sentiment", previousBadge) } }
        let order = all.map(kind).filter { $0.0 != "token" && $0.0 != "first-token" && $0.0 != "context" }.map(\.1)
        XCTAssertEqual(order, [first, badge, reply, previousBadge])
    }

    /// Past half the context the engine prepares the next trim by itself; once that trim is near, its
    /// preparation goes before badges already queued (a badge can come a little later, a trim would pause
    /// a reply), and its context report says it is ready.
    func testANearTrimIsPreparedBeforeQueuedBadges() throws {
        let engine = try warmEngine(contextSize: 256, maxReplyTokens: 16)
        defer { engine.shutdown() }
        var checked = false
        for id in 1 ... 40 {
            // As the chat queues them: the reply, then the message's badge as background work.
            let send = engine.enqueue(.send(ExchangeID(id), "Message number \(id): tell me more about it"))
            let badge = engine.enqueue(.classify("Message number \(id): tell me more about it", .background))
            let all = events(from: engine) { $0.contains { self.kind($0) == ("sentiment", badge) } }
            guard let report = all.firstIndex(where: { if case .context(send, let c) = $0 { return c.nextTrim?.isNear == true && c.nextTrim?.isReady == false } else { return false } })
            else { continue }
            let badgeAt = try XCTUnwrap(all.firstIndex { self.kind($0) == ("sentiment", badge) })
            let ready = all[report...].firstIndex { if case .context(let id, let c) = $0 { return id != send && c.nextTrim?.isReady == true } else { return false } }
            XCTAssertNotNil(ready, "the preparation reported the trim ready: \(all.map(kind))")
            XCTAssertLessThan(ready ?? .max, badgeAt, "prepared before the badge queued ahead of it")
            checked = true
            break
        }
        XCTAssertTrue(checked, "the trim never came near")
    }

    /// Esc pressed while the reply still waits behind its message's badge is not lost: the reply stops at
    /// its first token, marked as cancelled.
    func testCancelBeforeTheReplyStartsIsKept() throws {
        let engine = try warmEngine(maxReplyTokens: 64)
        defer { engine.shutdown() }
        engine.enqueue(.classify(String(repeating: "a long message to classify ", count: 10), .normal))
        let reply = engine.enqueue(.send(ExchangeID(1), "Tell me a long story"))
        engine.cancel(reply)
        let all = events(from: engine) { $0.contains { self.kind($0) == ("done", reply) } }
        // The context report follows the reply's summary, and may come in the same drain.
        let summaries = all.compactMap { event -> Engine.ReplySummary? in
            if case .replyDone(reply, let summary) = event { return summary } else { return nil }
        }
        guard let summary = summaries.first else { return XCTFail("no summary") }
        XCTAssertEqual(summary.stats.stopReason, .cancelled)
        XCTAssertLessThanOrEqual(summary.stats.evalTokens, 1)
    }

    /// Shutting down while background work is waiting or running returns promptly.
    func testShutdownWithBackgroundWorkQueued() throws {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: 256)
        let engine = try Engine(loaded: loaded, samplerSettings: .greedy, maxReplyTokens: 8)
        for _ in 0 ..< 20 { engine.enqueue(.classify(String(repeating: "text ", count: 100), .background)) }
        engine.shutdown()
    }
}
