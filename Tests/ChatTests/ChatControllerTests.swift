import Foundation
import Inference
import TestSupport
import Tokenizer
import XCTest
@testable import Chat

/// Every chat command through the controller, headless: what the conversation, the model's memory and
/// the saved chat hold afterwards.
final class ChatControllerTests: XCTestCase {
    private let scratch = ScratchDirectory("chat")
    private var directory: String { scratch.path }

    override func tearDown() {
        scratch.remove()
    }

    /// A message, its badge and its reply; the reply's badge follows; memory matches; the chat is saved.
    func testSendRecordsTheExchangeAndSavesIt() throws {
        let store = SessionStore(directory: directory)
        let driver = try ChatDriver(sessions: store)
        try driver.send("hello there")
        XCTAssertTrue(driver.chat.isBusy)
        XCTAssertThrowsError(try driver.chat.send("too soon")) { error in
            XCTAssertEqual("\(error)", "A reply is still running: Esc cancels it first.")
        }
        driver.settle()
        let messages = driver.chat.conversation.messages
        XCTAssertEqual(messages.map(\.role), [.user, .assistant])
        XCTAssertEqual(messages[0].text, "hello there")
        XCTAssertFalse(messages[1].text.isEmpty)
        XCTAssertNotEqual(messages[1].status, .streaming)
        if driver.chat.hasSentiment {
            XCTAssertNotNil(messages[0].sentiment, "the message's badge")
            XCTAssertNotNil(messages[1].sentiment, "the reply's badge")
        }
        XCTAssertEqual(driver.chat.context.exchanges, [ExchangeID(messages[0].id.value)])
        assertMemoryMatches(driver.chat, "after a send")
        let path = try XCTUnwrap(driver.chat.sessionPath)
        XCTAssertEqual(try store.load(path).conversation, driver.chat.conversation, "saved as it stands")
    }

    /// No badge comes before a reply: the reply's first token is the first thing a message gets, its own
    /// badge and the reply's follow (background work). The tiny fixture's context does not suit the full
    /// sentiment prompt, and the chat says once that it uses the short one.
    func testNoBadgeComesBeforeTheReply() throws {
        let driver = try ChatDriver()
        XCTAssertTrue(driver.chat.hasSentiment)
        XCTAssertEqual(driver.notices.filter { $0.hasPrefix("Sentiment badges use the short prompt") }.count, 1, "\(driver.notices)")
        for text in ["hello there", "and again"] {
            driver.clearNotices()
            try driver.send(text)
            driver.settle()
            let firstToken = driver.events.firstIndex { if case .firstToken = $0 { return true } else { return false } }
            let badges = driver.events.indices.filter { if case .sentimentMeasured = driver.events[$0] { return true } else { return false } }
            XCTAssertEqual(badges.count, 2, "the message's and the reply's")
            XCTAssertLessThan(try XCTUnwrap(firstToken), try XCTUnwrap(badges.first), "the reply's first token came first")
            XCTAssertTrue(driver.notices.allSatisfy { !$0.hasPrefix("Sentiment badges") }, "said once, at load")
        }
        let messages = driver.chat.conversation.messages
        XCTAssertTrue(messages.allSatisfy { $0.sentiment != nil }, "every message has its badge")
    }

    /// Once the next trim can be planned the engine prepares it in idle time (the chat's
    /// context report says how far), and the trim that comes takes it instead of prefilling.
    func testTheNextTrimIsPreparedWhileTheUserTypes() throws {
        let driver = try ChatDriver(contextSize: 256)
        var sent = 0
        while driver.chat.context.nextTrim == nil, sent < 40 {
            sent += 1
            try driver.send("Message number \(sent): tell me more about it")
            driver.settle()
        }
        XCTAssertNotNil(driver.chat.context.nextTrim, "a trim is planned")
        driver.wait(until: { driver.chat.context.nextTrim?.isReady == true })
        let ready = try XCTUnwrap(driver.chat.context.nextTrim)
        XCTAssertTrue(ready.isReady, "prepared in idle time: \(ready)")
        var trims: [ChatSession.ContextTrim] = []
        while trims.isEmpty, sent < 60 {
            sent += 1
            driver.clearNotices()
            try driver.send("Message number \(sent): tell me more about it")
            driver.settle()
            trims = driver.events.compactMap { if case .contextTrimmed(let trim) = $0, trim.seconds != nil { return trim } else { return nil } }
        }
        let trim = try XCTUnwrap(trims.first)
        XCTAssertEqual(trim.droppedMessages, ready.droppedMessages)
        XCTAssertGreaterThan(trim.preparedTokens, 0, "\(trim)")
        assertMemoryMatches(driver.chat, "after a prepared trim")
    }

    /// A save that fails (here the sessions folder cannot be made: a file is in its way) is said once,
    /// and every later change tries again: once the way is clear the chat is saved, and says so.
    func testAFailedSaveIsTriedAgain() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let blocker = directory + "/state"
        try "not a folder".write(toFile: blocker, atomically: false, encoding: .utf8)
        let driver = try ChatDriver(sessions: SessionStore(directory: blocker + "/sessions"))
        try driver.send("hello there")
        driver.settle()
        XCTAssertEqual(driver.notices.filter { $0.hasPrefix("The chat could not be saved") }.count, 1, "said once: \(driver.notices)")
        try FileManager.default.removeItem(atPath: blocker)
        try driver.run { try $0.set("temp", "0.5") }
        XCTAssertTrue(driver.notices.contains { $0.hasPrefix("The chat is being saved again") }, "\(driver.notices)")
        let path = try XCTUnwrap(driver.chat.sessionPath)
        XCTAssertEqual(try SessionStore(directory: blocker + "/sessions").load(path).conversation, driver.chat.conversation,
                       "nothing said before the folder could be made is lost")
    }

    /// The sequence a new user tried: a message, a paste longer than the whole context, /regen, quit,
    /// resume. The paste is refused, marked failed with its reason and kept; /regen makes the first
    /// reply again; the resumed chat rebuilds the first exchange and leaves the refused message out.
    func testARefusedMessageIsKeptButNeverFedBack() throws {
        let store = SessionStore(directory: directory)
        let driver = try ChatDriver(model: TestPaths.packageRoot.appendingPathComponent("models/qwentty-demo-q8_0.gguf").path,
                                    contextSize: 256, maxReplyTokens: 16, systemPrompt: nil, sessions: store)
        try driver.send("hello there")
        driver.settle()
        let first = driver.chat.conversation.messages[0].id
        let paste = String(repeating: "this line is pasted code that goes on and on; ", count: 60)
        try driver.send(paste)
        driver.settle()
        var messages = driver.chat.conversation.messages
        XCTAssertEqual(messages.count, 3, "the refused message has no reply")
        guard case .failed(let reason) = messages[2].status else { return XCTFail("not marked failed: \(messages[2].status)") }
        XCTAssertTrue(reason.contains("the context holds 256"), reason)
        XCTAssertEqual(messages[2].text, paste, "nothing the user typed is lost")
        XCTAssertTrue(driver.notices.contains { $0.contains("the context holds 256") }, "\(driver.notices)")
        XCTAssertEqual(driver.chat.context.exchanges, [ExchangeID(first.value)])
        assertMemoryMatches(driver.chat, "after the refusal")

        try driver.run { try $0.regenerate() }
        driver.settle()
        messages = driver.chat.conversation.messages
        XCTAssertEqual(messages.map(\.role), [.user, .assistant, .user], "the first reply was made again in its place")
        XCTAssertEqual(messages[2].status, .failed(reason), "the refused message stays as it was")
        XCTAssertEqual(driver.chat.context.exchanges, [ExchangeID(first.value)])
        assertMemoryMatches(driver.chat, "after /regen")

        try driver.run { try $0.continueReply() }
        driver.settle()
        assertMemoryMatches(driver.chat, "after /continue")

        // Quit and resume.
        let path = try XCTUnwrap(driver.chat.sessionPath)
        driver.chat.shutdown()
        let resumed = try ChatDriver(model: TestPaths.packageRoot.appendingPathComponent("models/qwentty-demo-q8_0.gguf").path,
                                     contextSize: 256, maxReplyTokens: 16, systemPrompt: nil, sessions: store)
        try resumed.run { $0.open(try store.load(path), from: path) }
        resumed.settle()
        XCTAssertEqual(resumed.chat.conversation.messages.count, 3)
        XCTAssertEqual(resumed.chat.context.exchanges.count, 1, "the context after resume holds the earlier exchange")
        XCTAssertTrue(resumed.notices.contains { $0.contains("1 that were not sent stay out of it") }, "\(resumed.notices)")
        XCTAssertFalse(resumed.notices.contains { $0.contains("did not fit") }, "\(resumed.notices)")
        assertMemoryMatches(resumed.chat, "after resume")

        // /edit brings the refused message back to be shortened; sent short, it gets its reply.
        let text = try XCTUnwrap(try resumed.chat.edit())
        XCTAssertEqual(text, paste)
        try resumed.send(String(text.prefix(80)))
        resumed.settle()
        XCTAssertEqual(resumed.chat.conversation.exchanges.count, 2)
        assertMemoryMatches(resumed.chat, "after the shortened message")
    }

    /// Esc mid-reply keeps the cut reply (marked) in the conversation and in memory; /continue goes on
    /// with it; /edit takes the exchange back; /clear forgets everything.
    func testCancelContinueEditClear() throws {
        // The demo model, so that the message's badge runs first: Esc comes while the reply still waits
        // (it then stops at its first token), however fast the machine.
        let driver = try ChatDriver(model: TestPaths.packageRoot.appendingPathComponent("models/qwentty-demo-q8_0.gguf").path,
                                    maxReplyTokens: 2000, systemPrompt: nil)
        try driver.send("Tell me a long story")
        XCTAssertTrue(driver.chat.cancel())
        driver.settle()
        let reply = try XCTUnwrap(driver.chat.conversation.messages.last)
        XCTAssertEqual(reply.status, .cut)
        assertMemoryMatches(driver.chat, "after Esc")
        XCTAssertFalse(driver.chat.cancel(), "nothing left to cancel")
        let before = reply.text
        try driver.run { try $0.set("max_tokens", "12") }
        try driver.run { try $0.continueReply() }
        driver.settle()
        let grown = try XCTUnwrap(driver.chat.conversation.messages.last)
        XCTAssertTrue(grown.text.hasPrefix(before), "a continued reply grows")
        assertMemoryMatches(driver.chat, "after /continue")
        XCTAssertEqual(try driver.chat.edit(), "Tell me a long story")
        driver.settle()
        XCTAssertTrue(driver.chat.conversation.messages.isEmpty)
        XCTAssertTrue(driver.chat.context.exchanges.isEmpty)
        try driver.send("again")
        driver.settle()
        try driver.run { try $0.clear() }
        driver.settle()
        XCTAssertTrue(driver.chat.conversation.messages.isEmpty)
        XCTAssertTrue(driver.chat.context.tokens.isEmpty)
        XCTAssertTrue(driver.notices.contains("New conversation."))
        try driver.run { XCTAssertEqual(try $0.edit(), nil) }
        XCTAssertTrue(driver.notices.contains("Nothing to edit yet."))
        try driver.run { try $0.regenerate() }
        XCTAssertTrue(driver.notices.contains("Nothing to regenerate yet."))
    }

    /// /system rebuilds the context under the new prompt; /set changes sampling and refuses bad values
    /// with the words of the range; /set ctx loads the model again and the chat moves to it.
    func testSystemPromptSettingsAndContextSize() throws {
        let driver = try ChatDriver()
        try driver.send("Hi")
        driver.settle()
        try driver.run { try $0.setSystemPrompt("Answer in French.") }
        driver.settle()
        XCTAssertEqual(driver.chat.systemPrompt, "Answer in French.")
        assertMemoryMatches(driver.chat, "after /system")
        try driver.run { try $0.set("temp", "0.3") }
        XCTAssertEqual(driver.chat.settings.sampler.temperature, 0.3)
        XCTAssertThrowsError(try driver.chat.set("top_p", "2")) { error in
            XCTAssertTrue("\(error)".contains("expected a number above 0 and at most 1"), "\(error)")
        }
        XCTAssertThrowsError(try driver.chat.set("ctx", "8"))
        try driver.run { try $0.set("ctx", "192") }
        XCTAssertTrue(driver.chat.isBusy, "the model loads again")
        driver.settle()
        XCTAssertEqual(driver.chat.model.contextSize, 192)
        XCTAssertEqual(driver.chat.settings.contextSize, 192)
        XCTAssertEqual(driver.chat.context.exchanges.count, 1, "the conversation moved to the new context")
        assertMemoryMatches(driver.chat, "after /set ctx")
    }

    /// /think on|off on a Qwen3 model changes the next reply's prompt; a model without think blocks says
    /// so; /model moves the chat to another model, whose template splits the replies its own way.
    func testThinkingAndModelSwitch() throws {
        let qwen3 = TestPaths.fixture("tiny-qwen3-f32.gguf")
        let driver = try ChatDriver()
        driver.run { $0.setThinking(false) }
        XCTAssertTrue(driver.notices.last?.contains("no think blocks") == true)
        try driver.send("Hi")
        driver.settle()
        try driver.run { try $0.loadModel(path: qwen3) }
        driver.settle()
        XCTAssertEqual(driver.chat.modelPath, qwen3)
        XCTAssertTrue(driver.chat.supportsThinking)
        assertMemoryMatches(driver.chat, "after /model")
        driver.run { $0.setThinking(false) }
        try driver.send("Quick answer")
        driver.settle()
        assertMemoryMatches(driver.chat, "thinking off")
        let held = driver.chat.tokenizer.decode(driver.chat.context.tokens)
        XCTAssertTrue(held.contains("<think>\n\n</think>"), "the empty think block of thinking off: \(held)")
        try driver.run { try $0.loadModel(path: "/nonexistent/model.gguf") }
        driver.settle()
        XCTAssertEqual(driver.chat.modelPath, qwen3, "a model that fails to load changes nothing")
        XCTAssertTrue(driver.notices.contains { $0.contains("keeping \(qwen3)") }, "\(driver.notices)")
    }
}
