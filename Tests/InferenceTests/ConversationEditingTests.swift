import TestSupport
import Tokenizer
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
        XCTAssertEqual(chat.dropLastExchange(), "Second")
        XCTAssertEqual(chat.tokens, tokensBefore)
        XCTAssertEqual(chat.cache.count, tokensBefore.count)
        XCTAssertEqual(chat.messages.count, 2)
        let again = try chat.send("Second", sampler: &sampler, maxTokens: 6) { _ in true }
        XCTAssertEqual(again.tokens, reply.tokens)
        XCTAssertEqual(chat.dropLastExchange(), "Second")
        XCTAssertEqual(chat.dropLastExchange(), "First")
        XCTAssertNil(chat.dropLastExchange())
        XCTAssertEqual(chat.cache.count, 0)
    }

    /// A restored conversation is the template's rendering of the saved messages, in the cache.
    func testRestoreRebuildsTheRenderedConversation() throws {
        let (loaded, chat) = try session()
        let template = try XCTUnwrap(loaded.template)
        chat.systemPrompt = "Be brief."
        let history = [ChatMessage(role: .user, content: "Hi"), ChatMessage(role: .assistant, content: "Hello!"),
                       ChatMessage(role: .user, content: "Bye"), ChatMessage(role: .assistant, content: "Goodbye.")]
        XCTAssertEqual(try chat.restore(history), 0)
        let expected = template.turn(ChatMessage(role: .system, content: "Be brief."))
            + template.turn(history[0]) + template.generationPrompt(thinking: true) + loaded.tokenizer.encode("Hello!")
            + [template.endOfTurn] + template.turnSeparator
            + template.turn(history[2]) + template.generationPrompt(thinking: true) + loaded.tokenizer.encode("Goodbye.")
        XCTAssertEqual(chat.tokens, expected)
        XCTAssertEqual(chat.cache.count, expected.count)
        XCTAssertEqual(chat.messages, history)
        XCTAssertEqual(chat.dropLastExchange(), "Bye", "restored turns can be taken back too")
    }

    func testRestoreLeavesOutTheOldestExchangesThatDoNotFit() throws {
        let (_, chat) = try session()
        let long = String(repeating: "word ", count: 40)
        let history = [ChatMessage(role: .user, content: long), ChatMessage(role: .assistant, content: long),
                       ChatMessage(role: .user, content: "short"), ChatMessage(role: .assistant, content: "ok"),
                       ChatMessage(role: .user, content: "unanswered")]
        try chat.restore(Array(history[2 ..< 4]))
        let budget = chat.cache.count + 2  // room for the short exchange only
        let dropped = try chat.restore(history, budget: budget)
        XCTAssertEqual(dropped, 3, "the long first exchange and the unanswered message")
        XCTAssertEqual(chat.messages.map(\.content), ["short", "ok"])
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

    private func kind(_ event: Engine.Event) -> String {
        switch event {
        case .userSentiment: return "user-sentiment"
        case .replySentiment: return "reply-sentiment"
        case .token: return "token"
        case .replyDone: return "done"
        case .restored: return "restored"
        case .error: return "error"
        }
    }

    /// Events arrive through the self-pipe in the order the screen needs them; jobs run in order.
    func testEventsAndJobsInOrder() throws {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: 256)
        let engine = try Engine(loaded: loaded, samplerSettings: .greedy, maxReplyTokens: 8)
        defer { engine.shutdown() }
        engine.submit("Hello")
        var kinds = events(from: engine) { $0.contains { self.kind($0) == "reply-sentiment" } }.map(kind)
        XCTAssertEqual(kinds.first, "user-sentiment")
        XCTAssertEqual(Array(kinds.suffix(2)), ["done", "reply-sentiment"], "the reply closes, then its badge")
        XCTAssertTrue(kinds.dropFirst().dropLast(2).allSatisfy { $0 == "token" })

        engine.enqueue(.regenerate)
        kinds = events(from: engine) { $0.contains { self.kind($0) == "reply-sentiment" } }.map(kind)
        XCTAssertEqual(kinds.first, "user-sentiment")
        engine.enqueue(.setSystemPrompt("Be brief."))
        kinds = events(from: engine) { $0.contains { self.kind($0) == "restored" } }.map(kind)
        XCTAssertEqual(kinds, ["restored"])
        engine.enqueue(.dropLastExchange)
        engine.enqueue(.restore([ChatMessage(role: .user, content: "a"), ChatMessage(role: .assistant, content: "b")], systemPrompt: "Be brief."))
        _ = events(from: engine) { $0.contains { self.kind($0) == "restored" } }
        engine.shutdown()
        XCTAssertEqual(engine.session.messages.map(\.content), ["a", "b"])
        XCTAssertEqual(engine.session.systemPrompt, "Be brief.")
    }
}
