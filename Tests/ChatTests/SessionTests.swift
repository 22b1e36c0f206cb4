import Essentials
import Foundation
import TestSupport
import XCTest
@testable import Chat

final class SessionTests: XCTestCase {
    private let scratch = ScratchDirectory("sessions")
    private var directory: String { scratch.path }

    override func tearDown() {
        scratch.remove()
    }

    private func sampleConversation() -> Conversation {
        var c = Conversation(recognisesThinking: false)
        let user = c.append(.user, "# not a heading\nsecond line", status: .complete)
        c.update(user) { $0.set(sentiment: Message.Sentiment(label: "Positive", probability: 0.9, latencySeconds: 0.1)) }
        let reply = c.append(.assistant, "", status: .streaming)
        c.update(reply) { $0.append("**Sure.**\n```\ncode\n```") }
        c.update(reply) { $0.set(status: .cut) }
        return c
    }

    func testJSONRoundTripAndWhatIsKept() throws {
        let chat = SavedChat(model: "m.gguf", systemPrompt: "Be brief.", created: Date(timeIntervalSince1970: 1_700_000_000), conversation: sampleConversation())
        let back = try SavedChat(json: Data(try chat.json().utf8))
        XCTAssertEqual(back, chat)
        XCTAssertEqual(back.conversation.messages.map(\.role), [.user, .assistant])
        XCTAssertEqual(back.conversation.messages.map(\.text), ["# not a heading\nsecond line", "**Sure.**\n```\ncode\n```"])
        XCTAssertEqual(back.conversation.messages.map(\.status), [.complete, .cut])
        XCTAssertEqual(back.conversation.messages[0].sentiment?.label, "Positive")
    }

    /// Files written before format 2 (cut and limit flags, notices kept by some version) still open;
    /// a badge whose probability is not one is dropped, not trusted.
    func testFormatOneFilesOpen() throws {
        let old = """
            {"created":"2026-01-01T00:00:00Z","format":1,"model":"m.gguf","messages":[
              {"role":"notice","content":"banner"},
              {"role":"user","content":"hi","sentiment":"Positive","sentimentProbability":1e30},
              {"role":"assistant","content":"cut reply","cut":true},
              {"role":"user","content":"more"},
              {"role":"assistant","content":"long reply","limit":true}]}
            """
        let chat = try SavedChat(json: Data(old.utf8))
        XCTAssertEqual(chat.conversation.messages.map(\.text), ["hi", "cut reply", "more", "long reply"])
        XCTAssertEqual(chat.conversation.messages.map(\.status), [.complete, .cut, .complete, .tokenLimit])
        XCTAssertNil(chat.conversation.messages[0].sentiment, "1e30 is no probability")
        XCTAssertEqual(chat.conversation.exchanges.count, 2)
    }

    /// A refused message is saved with its reason, and comes back failed: never part of the exchanges.
    func testAFailedMessageIsSavedWithItsReason() throws {
        var c = Conversation(recognisesThinking: false)
        c.append(.user, "hello there", status: .complete)
        c.append(.assistant, "Hi!", status: .complete)
        c.append(.user, String(repeating: "long ", count: 10), status: .failed("the message is 2370 tokens"))
        let chat = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(timeIntervalSince1970: 0), conversation: c)
        XCTAssertTrue(try chat.json().contains("\"failure\" : \"the message is 2370 tokens\""))
        let back = try SavedChat(json: Data(try chat.json().utf8))
        XCTAssertEqual(back.conversation.messages.last?.status, .failed("the message is 2370 tokens"))
        XCTAssertEqual(back.conversation.exchanges.map(\.user.text), ["hello there"])
        XCTAssertTrue(back.markdown().contains("## You · (not sent: the message is 2370 tokens)\n"), back.markdown())
    }

    func testMarkdownExportQuotesUserText() {
        let chat = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(timeIntervalSince1970: 0), conversation: sampleConversation())
        let md = chat.markdown()
        XCTAssertTrue(md.hasPrefix("# qwentty chat\n\n- model: `m.gguf`\n- started: 1970-01-01T00:00:00Z\n"), md)
        XCTAssertTrue(md.contains("## You · Positive 90%\n\n> # not a heading\n> second line\n"), md)
        XCTAssertTrue(md.contains("## Qwen · (cut)\n\n**Sure.**\n```\ncode\n```\n"), md)
    }

    /// A reply that stopped at the token limit is marked apart from a cut one, in the saved session (and
    /// back on resume) and in the export.
    func testTokenLimitIsMarkedApartFromACut() throws {
        var c = Conversation(recognisesThinking: false)
        c.append(.user, "question", status: .complete)
        c.append(.assistant, "a long answer", status: .tokenLimit)
        let chat = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(timeIntervalSince1970: 0), conversation: c)
        XCTAssertTrue(try chat.json().contains("\"stop\" : \"token_limit\""))
        XCTAssertTrue(chat.markdown().contains("## Qwen · (token limit)\n"), chat.markdown())
        let back = try SavedChat(json: Data(try chat.json().utf8))
        XCTAssertEqual(back, chat, "kept through the session file")
        XCTAssertEqual(back.conversation.messages.last?.status, .tokenLimit)
    }

    func testStoreSavesAtomicallyAndFindsTheLatest() throws {
        let store = SessionStore(directory: directory)
        XCTAssertNil(store.latestPath())
        let chat = SavedChat(model: "m", systemPrompt: nil, created: Date(), conversation: sampleConversation())
        let first = directory + "/a.json", second = directory + "/b.json"
        try store.save(chat, to: first)
        Thread.sleep(forTimeInterval: 0.01)
        try store.save(chat, to: second)
        XCTAssertEqual(store.latestPath(), second)
        XCTAssertEqual(try store.load(second), chat)
        XCTAssertFalse(FileManager.default.fileExists(atPath: second + ".partial"), "no temporary file left")
        let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o700, "chat logs are private")
        try "{ not json".write(toFile: directory + "/c.json", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try store.load(directory + "/c.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix(directory + "/c.json: not a qwentty session file"), "\(error)")
        }
    }

    /// Saved chats listed newest first, found by number or by name, deleted.
    func testListFindAndDeleteByNumberOrName() throws {
        let directory = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-sessions-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SessionStore(directory: directory)
        var older = Conversation(recognisesThinking: false)
        older.append(.user, "First question\nsecond line", status: .complete)
        older.append(.assistant, "answer", status: .complete)
        var named = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(), conversation: older)
        named.name = "Work"
        try store.save(named, to: directory + "/a.json")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: directory + "/a.json")
        var newer = Conversation(recognisesThinking: false)
        newer.append(.user, "Newest", status: .complete)
        try store.save(SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(), conversation: newer), to: directory + "/b.json")
        try "not json".write(toFile: directory + "/broken.json", atomically: false, encoding: .utf8)

        let list = store.list()
        XCTAssertEqual(list.map(\.firstLine), ["Newest", "First question"], "newest first; an unreadable file is left out")
        XCTAssertEqual(list.map(\.turns), [1, 1])
        XCTAssertEqual(list.map(\.name), [nil, "Work"])
        XCTAssertEqual(try store.path(for: "1"), directory + "/b.json")
        XCTAssertEqual(try store.path(for: "work"), directory + "/a.json", "names match ignoring case")
        XCTAssertThrowsError(try store.path(for: "3")) { XCTAssertTrue("\($0)".contains("there are 2"), "\($0)") }
        XCTAssertThrowsError(try store.path(for: "play")) { XCTAssertTrue("\($0)".contains("no saved conversation named 'play'"), "\($0)") }
        try store.delete(store.path(for: "work"))
        XCTAssertEqual(store.list().map(\.firstLine), ["Newest"])
    }

    /// A FIFO (or a folder) named like a saved chat is refused by what it is, and listing the chats skips
    /// it instead of waiting forever for a writer.
    func testAFIFOAmongTheSessionsIsNamedAndSkipped() throws {
        let store = SessionStore(directory: directory)
        try AtomicFile.makeDirectory(directory)
        var c = Conversation(recognisesThinking: false)
        c.append(.user, "a real chat", status: .complete)
        try store.save(SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(), conversation: c), to: directory + "/a.json")
        XCTAssertEqual(mkfifo(directory + "/b.json", 0o600), 0)
        try FileManager.default.createDirectory(atPath: directory + "/c.json", withIntermediateDirectories: true)
        XCTAssertThrowsError(try store.load(directory + "/b.json")) { error in
            XCTAssertEqual("\(error)", directory + "/b.json: is a FIFO, not a regular file")
        }
        XCTAssertEqual(store.list().map(\.firstLine), ["a real chat"])
    }

    func testXDGLocations() {
        XCTAssertEqual(SessionStore(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]).directory, "/s/qwentty/sessions")
        XCTAssertEqual(SessionStore(environment: ["HOME": "/h"]).directory, "/h/.local/state/qwentty/sessions")
        XCTAssertEqual(SessionStore(environment: ["XDG_STATE_HOME": "relative", "HOME": "/h"]).directory,
                       "/h/.local/state/qwentty/sessions", "the spec says relative paths are ignored")
    }
}
