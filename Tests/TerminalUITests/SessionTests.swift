import Foundation
import Inference
import XCTest
@testable import TerminalUI

final class SessionTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qwentty-sessions-\(getpid())-\(UUID().uuidString)").path
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func sampleTranscript() -> Transcript {
        var t = Transcript()
        t.append(.notice, "banner")
        let user = t.append(.user, "# not a heading\nsecond line")
        t.setSentiment(SentimentClassifier.Result(label: "Positive", probability: 0.9, probabilities: [], scores: [], latencySeconds: 0.1, truncatedTokens: 0), entry: user)
        let reply = t.append(.assistant, "", streaming: true)
        t.appendText("**Sure.**\n```\ncode\n```", toEntry: reply)
        t.finish(entry: reply, cut: true)
        return t
    }

    func testJSONRoundTripAndWhatIsKept() throws {
        let chat = SavedChat(model: "m.gguf", systemPrompt: "Be brief.", created: Date(timeIntervalSince1970: 1_700_000_000), transcript: sampleTranscript())
        XCTAssertEqual(chat.messages.map(\.role), [.user, .assistant], "notices are not saved")
        XCTAssertEqual(chat.messages[1].cut, true)
        let back = try SavedChat(json: Data(try chat.json().utf8))
        XCTAssertEqual(back, chat)
        XCTAssertEqual(back.chatMessages.map(\.content), ["# not a heading\nsecond line", "**Sure.**\n```\ncode\n```"])
    }

    func testMarkdownExportQuotesUserText() {
        let chat = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(timeIntervalSince1970: 0), transcript: sampleTranscript())
        let md = chat.markdown()
        XCTAssertTrue(md.hasPrefix("# qwentty chat\n\n- model: `m.gguf`\n- started: 1970-01-01T00:00:00Z\n"), md)
        XCTAssertTrue(md.contains("## You · Positive 90%\n\n> # not a heading\n> second line\n"), md)
        XCTAssertTrue(md.contains("## Qwen · (cut)\n\n**Sure.**\n```\ncode\n```\n"), md)
    }

    /// A reply that stopped at the token limit is marked apart from a cut one, on screen, in the saved
    /// session (and back on resume) and in the export.
    func testTokenLimitIsMarkedApartFromACut() throws {
        var t = Transcript()
        t.append(.user, "question")
        let reply = t.append(.assistant, "", streaming: true)
        t.appendText("a long answer", toEntry: reply)
        t.finish(entry: reply, cut: false, hitLimit: true)
        XCTAssertEqual(t.lines(width: 40)[3].runs.map(\.text).prefix(2), ["qwen", " (token limit)"])
        let chat = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(timeIntervalSince1970: 0), transcript: t)
        XCTAssertEqual(chat.messages.last?.limit, true)
        XCTAssertNil(chat.messages.last?.cut)
        XCTAssertTrue(chat.markdown().contains("## Qwen · (token limit)\n"), chat.markdown())
        XCTAssertEqual(try SavedChat(json: Data(try chat.json().utf8)), chat, "kept through the session file")
    }

    func testStoreSavesAtomicallyAndFindsTheLatest() throws {
        let store = SessionStore(directory: directory)
        XCTAssertNil(store.latestPath())
        let chat = SavedChat(model: "m", systemPrompt: nil, created: Date(), transcript: sampleTranscript())
        let first = directory + "/a.json", second = directory + "/b.json"
        try store.save(chat, to: first)
        Thread.sleep(forTimeInterval: 0.01)
        try store.save(chat, to: second)
        XCTAssertEqual(store.latestPath(), second)
        XCTAssertEqual(try store.load(second), chat)
        XCTAssertFalse(FileManager.default.fileExists(atPath: second + ".partial"), "no temporary file left")
        let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o700, "chat logs are private")
        try "{ not json".write(toFile: directory + "/c.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try store.load(directory + "/c.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix(directory + "/c.json: not a qwentty session file"), "\(error)")
        }
    }

    /// Saved chats listed newest first, found by number or by name, deleted.
    func testListFindAndDeleteByNumberOrName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qwentty-sessions-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SessionStore(directory: directory)
        var older = Transcript()
        older.append(.user, "First question\nsecond line")
        older.append(.assistant, "answer")
        var named = SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(), transcript: older)
        named.name = "Work"
        try store.save(named, to: directory + "/a.json")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: directory + "/a.json")
        var newer = Transcript()
        newer.append(.user, "Newest")
        try store.save(SavedChat(model: "m.gguf", systemPrompt: nil, created: Date(), transcript: newer), to: directory + "/b.json")
        try "not json".write(toFile: directory + "/broken.json", atomically: true, encoding: .utf8)

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

    func testXDGLocations() {
        XCTAssertEqual(SessionStore(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]).directory, "/s/qwentty/sessions")
        XCTAssertEqual(SessionStore(environment: ["HOME": "/h"]).directory, "/h/.local/state/qwentty/sessions")
        XCTAssertEqual(SessionStore(environment: ["XDG_STATE_HOME": "relative", "HOME": "/h"]).directory,
                       "/h/.local/state/qwentty/sessions", "the spec says relative paths are ignored")
        XCTAssertEqual(AppConfig.path(environment: ["XDG_CONFIG_HOME": "/c"]), "/c/qwentty/config")
        XCTAssertEqual(AppConfig.path(environment: ["HOME": "/h"]), "/h/.config/qwentty/config")
    }

    func testAtomicWriteFailureLeavesTheOldFile() throws {
        try AtomicFile.makeDirectory(directory)
        let path = directory + "/keep.md"
        try AtomicFile.write("old", to: path)
        XCTAssertThrowsError(try AtomicFile.write("new", to: directory + "/missing/dir/file.md")) { error in
            XCTAssertTrue("\(error)".contains("missing/dir/file.md: cannot write"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old")
    }
}

final class AppConfigTests: XCTestCase {
    func testSettingsAndProblems() {
        let config = AppConfig(parsing: """
            model = "/models/qwen2.5-0.5b-instruct-q8_0.gguf"
            theme = light
            threads = 4
            ctx_size = 8192
            temp = 0.2
            max_tokens = 2048
            max_tokens = 0
            system = "Line one.\\nLine two."
            mouse = off
            stats = no
            think = off
            threads = many
            colour = red
            """, source: "cfg")
        XCTAssertEqual(config.model, "/models/qwen2.5-0.5b-instruct-q8_0.gguf")
        XCTAssertEqual(config.theme, "light")
        XCTAssertEqual(config.threads, 4, "a bad later value does not erase the good one")
        XCTAssertEqual(config.contextSize, 8192)
        XCTAssertEqual(config.temperature, 0.2)
        XCTAssertEqual(config.maxTokens, 2048)
        XCTAssertEqual(config.systemPrompt, "Line one.\nLine two.")
        XCTAssertEqual(config.mouse, false)
        XCTAssertEqual(config.statsPane, false)
        XCTAssertEqual(config.thinking, false)
        XCTAssertEqual(config.problems, ["cfg: max_tokens: expected a token count ≥ 1, got 0",
                                         "cfg: threads: expected 1…256, got many",
                                         "cfg: colour: unknown setting (known: model, theme, threads, ctx_size, temp, max_tokens, system, mouse, stats, think)"])
        XCTAssertEqual(AppConfig.load(path: "/nonexistent/qwentty/config"), AppConfig(), "no file: defaults, no complaint")
    }
}
