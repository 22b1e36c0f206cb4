import Foundation
import TestSupport
import Tokenizer
import Transformer
import XCTest
@testable import Inference

/// The context cache kept with a chat: written, read back bit for bit, used by a resume in place of the
/// prefill it saves, and ignored (with its reason) whenever it does not match.
final class ContextCacheFileTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        scratch = ScratchDirectory("context-cache")
        try FileManager.default.createDirectory(atPath: scratch.path, withIntermediateDirectories: true)
    }

    override func tearDown() {
        scratch.remove()
    }

    private let exchanges = [
        ChatSession.Exchange(id: ExchangeID(1), user: "What is a cache?", reply: "A place to keep things."),
        ChatSession.Exchange(id: ExchangeID(2), user: "And a trim?", reply: "Old turns leave."),
        ChatSession.Exchange(id: ExchangeID(3), user: "Thanks", reply: "You are welcome."),
    ]

    private func model(_ name: String = "tiny-qwen2-f32.gguf", contextSize: Int = 256,
                       precision: KVCache.Precision = .f16) throws -> LoadedModel {
        try LoadedModel(path: TestPaths.fixture(name), threads: 2, contextSize: contextSize, cachePrecision: precision)
    }

    private func session(_ loaded: LoadedModel, contextSize: Int? = nil) throws -> ChatSession {
        ChatSession(generator: loaded.generator, template: try XCTUnwrap(loaded.template), contextSize: contextSize ?? loaded.contextSize,
                    systemPrompt: "Be brief.")
    }

    /// A session that chatted (replies generated, so the cache holds decode positions too) and its file.
    private func chattedSession(_ loaded: LoadedModel) throws -> (ChatSession, String) {
        let chat = try session(loaded)
        var sampler = Sampler(settings: .greedy)
        for (i, text) in ["hello there", "tell me more", "and then?"].enumerated() {
            _ = try chat.send(text, id: ExchangeID(i + 1), sampler: &sampler, maxTokens: 12) { _ in true }
        }
        let path = scratch.path + "/chat.kv"
        try ContextCacheFile.write(chat.cache, tokens: chat.tokens, identity: ContextCacheFile.Identity(model: loaded, cache: chat.cache), to: path)
        return (chat, path)
    }

    private func bytes(_ cache: KVCache, positions: Int) -> [[UInt8]] {
        cache.storage(positions: positions).map { Array(UnsafeRawBufferPointer($0)) }
    }

    func testTheCacheRoundTripsBitForBit() throws {
        for precision in KVCache.Precision.allCases {
            let loaded = try model(precision: precision)
            let (chat, path) = try chattedSession(loaded)
            let fresh = try session(loaded)
            let file = try ContextCacheFile(path: path, expecting: ContextCacheFile.Identity(model: loaded, cache: fresh.cache))
            XCTAssertEqual(file.tokens, chat.tokens)
            try file.load(into: fresh.cache)
            XCTAssertEqual(fresh.cache.count, chat.cache.count)
            XCTAssertEqual(bytes(fresh.cache, positions: chat.cache.count), bytes(chat.cache, positions: chat.cache.count), "\(precision)")
        }
    }

    /// Resuming from the file and resuming by prefill give the same context and the same next-token
    /// logits. Not bit for bit: the file holds keys and values computed one token at a time during the
    /// replies, the prefill computes them in one batch, and the two paths round differently (F16 cache,
    /// quantised activations); 2e-2 on logits of magnitude ~1–10 is far below what a wrong position or a
    /// wrong token would give (such errors move logits by whole units).
    func testAResumeFromTheFileMatchesAResumeByPrefill() throws {
        let loaded = try model()
        let (chat, path) = try chattedSession(loaded)
        let held = exchangesHeld(by: chat, loaded)
        let identity = ContextCacheFile.Identity(model: loaded, cache: chat.cache)

        let byPrefill = try session(loaded)
        let rebuilt = try byPrefill.restore(held, budget: 192)
        XCTAssertEqual(rebuilt.reusedTokens, 0)
        let fromFile = try session(loaded)
        let resumed = try fromFile.restore(held, budget: 192, reusing: try ContextCacheFile(path: path, expecting: identity))
        XCTAssertNil(resumed.savedContextProblem)
        XCTAssertEqual(fromFile.tokens, byPrefill.tokens)
        XCTAssertGreaterThan(resumed.reusedTokens, byPrefill.tokens.count * 3 / 4, "most of the context comes from the file")

        let next = fromFile.pendingTokens(forUserText: "one more")
        try loaded.model.forward(next, cache: byPrefill.cache)
        let expected = Array(UnsafeBufferPointer(start: loaded.model.logits, count: loaded.model.config.vocabularySize))
        try loaded.model.forward(next, cache: fromFile.cache)
        let got = Array(UnsafeBufferPointer(start: loaded.model.logits, count: loaded.model.config.vocabularySize))
        let worst = zip(expected, got).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 2e-2)
    }

    /// What the chat's session holds, as the chat's record would give it back to a resume.
    private func exchangesHeld(by chat: ChatSession, _ loaded: LoadedModel) -> [ChatSession.Exchange] {
        // The sends above recorded user texts; the replies are what the tokens decode to.
        let texts = ["hello there", "tell me more", "and then?"]
        let end = loaded.template!.endOfTurn
        let header = loaded.template!.generationPrompt()
        var replies: [String] = []
        var i = 0
        let tokens = chat.tokens
        while i < tokens.count {
            if tokens[i...].starts(with: header) {
                let start = i + header.count
                let stop = tokens[start...].firstIndex(of: end) ?? tokens.count
                replies.append(loaded.tokenizer.decode(Array(tokens[start ..< stop])))
                i = stop
            }
            i += 1
        }
        return zip(texts, replies).enumerated().map { ChatSession.Exchange(id: ExchangeID($0.offset + 1), user: $0.element.0, reply: $0.element.1) }
    }

    /// Every way a file can fail to match falls back to the prefill, with the context exactly as the
    /// prefill gives it and the reason said.
    func testEveryMismatchFallsBackToThePrefill() throws {
        let loaded = try model()
        let (chat, path) = try chattedSession(loaded)
        let held = exchangesHeld(by: chat, loaded)
        let reference = try session(loaded)
        _ = try reference.restore(held, budget: 192)
        let identity = ContextCacheFile.Identity(model: loaded, cache: reference.cache)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))

        func expectRefused(_ expected: ContextCacheFile.Problem, path: String, identity: ContextCacheFile.Identity,
                           line: UInt = #line) {
            XCTAssertThrowsError(try ContextCacheFile(path: path, expecting: identity), line: line) {
                XCTAssertEqual($0 as? ContextCacheFile.Problem, expected, line: line)
            }
        }
        // Another model file of the same shape (F16 weights), another precision, another layout.
        let other = try model("tiny-qwen2-f16.gguf")
        expectRefused(.otherModel, path: path, identity: ContextCacheFile.Identity(model: other, cache: other.model.makeCache()))
        let f32 = try model(precision: .f32)
        expectRefused(.otherPrecision(.f16), path: path, identity: ContextCacheFile.Identity(model: f32, cache: f32.model.makeCache()))
        // Truncated, at the data and inside the header.
        let truncated = scratch.path + "/truncated.kv"
        try original.prefix(original.count - 100).write(to: URL(fileURLWithPath: truncated))
        expectRefused(.truncated, path: truncated, identity: identity)
        try original.prefix(40).write(to: URL(fileURLWithPath: truncated))
        expectRefused(.truncated, path: truncated, identity: identity)
        // Not a cache at all, another format.
        let text = scratch.path + "/text.kv"
        try Data(String(repeating: "not a cache ", count: 20).utf8).write(to: URL(fileURLWithPath: text))
        expectRefused(.notACache, path: text, identity: identity)
        var future = original
        future[8] = 9
        try future.write(to: URL(fileURLWithPath: text))
        expectRefused(.otherFormat(9), path: text, identity: identity)
        // A flipped byte in the tokens is found on opening, one in the keys and values on loading.
        var flipped = original
        flipped[ContextCacheFile.headerBytes + 5] ^= 0x10
        let damaged = scratch.path + "/damaged.kv"
        try flipped.write(to: URL(fileURLWithPath: damaged))
        expectRefused(.damaged, path: damaged, identity: identity)
        flipped = original
        flipped[original.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: damaged))
        let opened = try ContextCacheFile(path: damaged, expecting: identity)
        let fallback = try session(loaded)
        let result = try fallback.restore(held, budget: 192, reusing: opened)
        XCTAssertEqual(result.savedContextProblem, .damaged)
        XCTAssertEqual(result.reusedTokens, 0)
        XCTAssertEqual(fallback.tokens, reference.tokens)
        // A folder and a FIFO where the file should be (the FIFO must not block).
        let folder = scratch.path + "/folder.kv"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        expectRefused(.unreadable("is a folder, not a regular file"), path: folder, identity: identity)
        let fifo = scratch.path + "/fifo.kv"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        expectRefused(.unreadable("is a FIFO, not a regular file"), path: fifo, identity: identity)
        expectRefused(.unreadable("does not exist"), path: scratch.path + "/none.kv", identity: identity)
    }

    /// A smaller context than the file's tokens refuses it at load; a larger one uses it (positions do not
    /// depend on the context size).
    func testAnotherContextSizeUsesTheFileOnlyWhenItFits() throws {
        let loaded = try model()
        let (chat, path) = try chattedSession(loaded)
        let held = exchangesHeld(by: chat, loaded)
        let small = try session(loaded, contextSize: 64)
        let file = try ContextCacheFile(path: path, expecting: ContextCacheFile.Identity(model: loaded, cache: small.cache))
        XCTAssertGreaterThan(file.tokens.count, 64)
        let cramped = try small.restore(held, reusing: file)
        XCTAssertEqual(cramped.reusedTokens, 0)
        XCTAssertEqual(cramped.savedContextProblem, .tooLong(tokens: file.tokens.count, contextSize: 64))
        XCTAssertLessThanOrEqual(small.cache.count, 64)

        let roomy = try LoadedModel(path: TestPaths.fixture("tiny-qwen2-f32.gguf"), threads: 2, contextSize: 512)
        let large = try session(roomy)
        let reused = try large.restore(held, budget: 384, reusing: ContextCacheFile(path: path, expecting: ContextCacheFile.Identity(model: roomy, cache: large.cache)))
        XCTAssertNil(reused.savedContextProblem)
        XCTAssertGreaterThan(reused.reusedTokens, 0)
    }

    /// An edited chat reuses the part before the edit; a chat under another system prompt shares nothing
    /// and says so; either way the context is the prefill's.
    func testAnEditedChatReusesWhatCameBeforeTheEdit() throws {
        let loaded = try model()
        let (chat, path) = try chattedSession(loaded)
        var held = exchangesHeld(by: chat, loaded)
        held[1] = ChatSession.Exchange(id: held[1].id, user: "tell me less", reply: held[1].reply)
        let reference = try session(loaded)
        _ = try reference.restore(held, budget: 192)
        let edited = try session(loaded)
        let identity = ContextCacheFile.Identity(model: loaded, cache: edited.cache)
        let result = try edited.restore(held, budget: 192, reusing: ContextCacheFile(path: path, expecting: identity))
        XCTAssertEqual(edited.tokens, reference.tokens)
        // The edited message's turn: the second user turn.
        let userStart = loaded.template!.turnStart(.user)
        let userTurns = reference.tokens.indices.filter { reference.tokens[$0...].starts(with: userStart) }
        XCTAssertEqual(userTurns.count, 3)
        XCTAssertGreaterThanOrEqual(result.reusedTokens, userTurns[1], "everything before the edited message is read from the file")
        XCTAssertLessThan(result.reusedTokens, reference.tokens.count)

        let otherPrompt = ChatSession(generator: loaded.generator, template: loaded.template!, contextSize: loaded.contextSize,
                                      systemPrompt: "Answer in French.")
        let unrelated = try otherPrompt.restore(held, budget: 192, reusing: ContextCacheFile(path: path, expecting: identity))
        let systemTurn = loaded.template!.turn(ChatTurn(role: .system, content: "Answer in French."))
        XCTAssertLessThan(unrelated.reusedTokens, systemTurn.count, "only the system turn's opening tokens can be shared")
        XCTAssertEqual(otherPrompt.tokens, try { let s = ChatSession(generator: loaded.generator, template: loaded.template!, contextSize: loaded.contextSize, systemPrompt: "Answer in French."); _ = try s.restore(held, budget: 192); return s.tokens }())
    }

    /// A chat resumed after a trim holds what it held live, though the budget alone would pick more of
    /// the older exchanges.
    func testAResumeKeepsTheExchangesTheCacheHeld() throws {
        let loaded = try model()
        let live = try session(loaded)
        var sampler = Sampler(settings: .greedy)
        var record: [ChatSession.Exchange] = []
        var trims = 0
        var i = 1
        while trims == 0 && i < 60 {
            let text = "message number \(i) with some words in it"
            let result = try live.send(text, id: ExchangeID(i), sampler: &sampler, maxTokens: 16, onTrim: { if $0.seconds != nil { trims += 1 } }) { _ in true }
            record.append(ChatSession.Exchange(id: ExchangeID(i), user: text, reply: loaded.tokenizer.decode(result.tokens.filter { $0 != loaded.template!.endOfTurn })))
            i += 1
        }
        XCTAssertEqual(trims, 1, "the chat was long enough to trim")
        let path = scratch.path + "/trimmed.kv"
        let identity = ContextCacheFile.Identity(model: loaded, cache: live.cache)
        try ContextCacheFile.write(live.cache, tokens: live.tokens, identity: identity, to: path)
        let resumed = try session(loaded)
        let result = try resumed.restore(record, budget: loaded.contextSize * 3 / 4, reusing: ContextCacheFile(path: path, expecting: identity))
        XCTAssertEqual(resumed.exchanges, live.exchanges)
        XCTAssertGreaterThan(result.reusedTokens, live.tokens.count / 2)
    }

    func testAWriteCanBeInterruptedAndLeavesNothing() throws {
        let loaded = try model()
        let (chat, _) = try chattedSession(loaded)
        let path = scratch.path + "/interrupted.kv"
        var asked = 0
        XCTAssertThrowsError(try ContextCacheFile.write(chat.cache, tokens: chat.tokens, identity: ContextCacheFile.Identity(model: loaded, cache: chat.cache),
                                                        to: path, interrupt: { asked += 1; return asked > 3 })) {
            XCTAssertEqual($0 as? ForwardError, .interrupted)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }
}
