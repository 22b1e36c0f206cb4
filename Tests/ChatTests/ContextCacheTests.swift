import Essentials
import Foundation
import Inference
import TestSupport
import XCTest
@testable import Chat

/// A saved chat's context cache, through the controller: written after replies, read on resume, kept
/// within its budget and in step with the saved chats.
final class ContextCacheTests: XCTestCase {
    private let scratch = ScratchDirectory("context-caches")
    private var sessions: SessionStore { SessionStore(directory: scratch.path + "/sessions") }
    private var caches: ContextCacheStore { ContextCacheStore(directory: scratch.path + "/contexts") }

    override func tearDown() {
        scratch.remove()
    }

    private func chat(_ contextSize: Int = 256, prepareTrims: Bool = true) throws -> ChatDriver {
        try ChatDriver(contextSize: contextSize, maxReplyTokens: 12, sessions: sessions, contextCache: caches, prepareTrims: prepareTrims)
    }

    /// Three messages, quit: the cache file is there. Resumed, the context comes from it (only what it
    /// lacks is prefilled) and matches the conversation.
    func testAResumedChatReadsItsContextFromTheCache() throws {
        let first = try chat()
        for text in ["hello", "what is a cache", "thanks"] {
            try first.send(text)
            first.settle()
        }
        let path = try XCTUnwrap(first.chat.sessionPath)
        let before = first.chat.context
        first.chat.shutdown()
        XCTAssertTrue(FileManager.default.fileExists(atPath: caches.path(forSession: path)))

        let resumed = try chat()
        try resumed.run { $0.open(try sessions.load(path), from: path) }
        resumed.settle()
        XCTAssertEqual(resumed.chat.context.tokens, before.tokens)
        let note = try XCTUnwrap(resumed.notices.first { $0.contains("read from its cache") }, "\(resumed.notices)")
        XCTAssertTrue(note.contains("\(before.tokens.count) tokens (\(before.tokens.count) read from its cache, 0 prefilled)"), note)
        assertMemoryMatches(resumed.chat, "resumed from the cache")
        try resumed.send("one more")
        resumed.settle()
        assertMemoryMatches(resumed.chat, "a message after the resume")
    }

    /// A chat saved near its next trim keeps that trim prepared beside its context: resumed by an engine
    /// that prepares nothing itself, the trim is ready at once, the message that trims uses it, and
    /// `/delete` removes it with the rest.
    func testAChatResumedNearItsTrimFindsItPrepared() throws {
        let first = try chat()
        var sent = 0
        while first.chat.context.nextTrim == nil, sent < 40 {
            sent += 1
            try first.send("Message number \(sent): tell me more about it")
            first.settle()
        }
        // The engine queued the trim's preparation as it reported the context after the reply, before the
        // chat queued the cache's write: the write (which `settle` waits for) saved it prepared.
        XCTAssertEqual(first.chat.context.nextTrim?.isReady, true)
        let path = try XCTUnwrap(first.chat.sessionPath)
        let ready = try XCTUnwrap(first.chat.context.nextTrim)
        first.chat.shutdown()  // writes the context, and the prepared trim beside it
        let trimFile = ContextCacheFile.preparedTrimPath(besides: caches.path(forSession: path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: trimFile))

        let resumed = try chat(prepareTrims: false)
        try resumed.run { $0.open(try sessions.load(path), from: path) }
        resumed.settle()
        XCTAssertEqual(resumed.chat.context.nextTrim, ready, "the same trim, prepared as far as before")
        var trim: ChatSession.ContextTrim?
        while trim == nil, sent < 60 {
            sent += 1
            resumed.clearNotices()
            try resumed.send("Message number \(sent + 1): tell me more about it")
            resumed.settle()
            trim = resumed.events.lazy.compactMap { if case .contextTrimmed(let t) = $0, t.seconds != nil { return t } else { return nil } }.first
        }
        XCTAssertEqual(trim?.droppedMessages, ready.droppedMessages)
        XCTAssertGreaterThan(trim?.preparedTokens ?? 0, 0, "\(String(describing: trim))")
        assertMemoryMatches(resumed.chat, "a prepared trim read back from its file")
        try resumed.run { try $0.deleteSession("1") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: trimFile))
    }

    /// A damaged cache is said in one line and the chat is rebuilt by prefill, all of it.
    func testADamagedCacheIsSaidAndTheChatRebuilt() throws {
        let first = try chat()
        try first.send("hello")
        first.settle()
        let path = try XCTUnwrap(first.chat.sessionPath)
        first.chat.shutdown()
        let file = caches.path(forSession: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 20] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: file))

        let resumed = try chat()
        try resumed.run { $0.open(try sessions.load(path), from: path) }
        resumed.settle()
        XCTAssertTrue(resumed.notices.contains { $0.contains("\(file) is damaged (its checksum does not match); the context is prefilled instead") },
                      "\(resumed.notices)")
        XCTAssertTrue(resumed.notices.contains { $0.hasPrefix("Context rebuilt") && !$0.contains("from its cache") }, "\(resumed.notices)")
        assertMemoryMatches(resumed.chat, "rebuilt after a damaged cache")
    }

    /// `/delete` takes the chat's cache with it.
    func testDeletingAChatDeletesItsCache() throws {
        let first = try chat()
        try first.send("hello")
        first.settle()
        let path = try XCTUnwrap(first.chat.sessionPath)
        XCTAssertTrue(FileManager.default.fileExists(atPath: caches.path(forSession: path)), "written after the reply")
        try first.run { try $0.deleteSession("1") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: caches.path(forSession: path)))
    }

    /// Over budget, the oldest files go first, but never the one just written; a cache whose chat is gone
    /// goes whatever the budget.
    func testTheBudgetEvictsTheOldestAndOrphansFirst() throws {
        var store = caches
        try store.prepare()
        try AtomicFile.makeDirectory(sessions.directory)
        let now = Date()
        for (i, name) in ["a", "b", "c", "d", "a.next-trim", "c.next-trim"].enumerated() {
            try Data(count: 1000).write(to: URL(fileURLWithPath: store.directory + "/\(name).kv"))
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(Double(i - 10) * 60)],
                                                  ofItemAtPath: store.directory + "/\(name).kv")
            if ["a", "b", "d"].contains(name) { try Data("{}".utf8).write(to: URL(fileURLWithPath: sessions.directory + "/\(name).json")) }
        }
        store.budget = 3500
        // "a" is the oldest but the one just written (with its prepared trim); "c" has no chat, nor its trim.
        let removed = store.evict(keeping: store.directory + "/a.kv", sessions: sessions).map { ($0 as NSString).lastPathComponent }
        XCTAssertEqual(Set(removed), ["c.kv", "c.next-trim.kv", "b.kv"])
        XCTAssertEqual(removed.last, "b.kv", "orphans first")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: store.directory)), ["a.kv", "a.next-trim.kv", "d.kv"])
    }
}
