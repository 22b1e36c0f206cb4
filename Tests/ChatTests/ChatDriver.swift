import Foundation
import Inference
import TestSupport
import Tokenizer
import XCTest
@testable import Chat

/// A chat controller driven headless, as the screen drives it: commands, then `poll()` whenever its
/// descriptors are readable, collecting the notices it says.
final class ChatDriver {
    let chat: ChatController
    private(set) var notices: [String] = []
    private(set) var events: [ChatController.Event] = []

    init(model: String = TestPaths.fixture("tiny-qwen2-f32.gguf"), contextSize: Int = 256, maxReplyTokens: Int = 8,
         systemPrompt: String? = "Be brief.", sampler: SamplerSettings = .greedy, sessions: SessionStore? = nil,
         contextCache: ContextCacheStore? = nil, thinking: Bool = true, prepareTrims: Bool = true) throws {
        let loaded = try LoadedModel(path: model, threads: 2, contextSize: contextSize)
        let engine = try Engine(loaded: loaded, samplerSettings: sampler, systemPrompt: systemPrompt, maxReplyTokens: maxReplyTokens,
                                prepareTrims: prepareTrims)
        var options = ChatController.Options(modelPath: model)
        options.sessions = sessions
        options.contextCache = contextCache
        options.thinking = thinking
        chat = ChatController(engine: engine, options: options)
        collect()
    }

    deinit { chat.shutdown() }

    private func collect() {
        for event in chat.takeEvents() {
            events.append(event)
            if case .notice(let text) = event { notices.append(text) }
        }
    }

    /// Polls until nothing runs or waits (badges and context reports included).
    func settle(timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) {
        collect()
        let deadline = Date().addingTimeInterval(timeout)
        while !chat.isIdle, Date() < deadline {
            var fds = chat.wakeDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 50)
            chat.poll()
            collect()
        }
        XCTAssertTrue(chat.isIdle, "the chat did not settle in \(timeout) s", file: file, line: line)
    }

    /// Polls until `condition` holds (a reply under way, say).
    func wait(until condition: () -> Bool, timeout: Double = 60) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(), Date() < deadline {
            var fds = chat.wakeDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 20)
            chat.poll()
            collect()
        }
    }

    func send(_ text: String) throws {
        try chat.send(text)
        collect()
    }

    func run(_ command: (ChatController) throws -> Void) rethrows {
        try command(chat)
        collect()
    }

    func clearNotices() {
        notices.removeAll()
        events.removeAll()
    }
}

extension XCTestCase {
    /// The model's memory matches the conversation: the exchanges the engine reports are the newest of
    /// `conversation.exchanges` (the oldest may have been trimmed; nothing refused or broken off is
    /// among them), and its tokens are `ChatTemplate`'s rendering of them under the system prompt.
    ///
    /// System and user turns must equal the template's tokens exactly, so no user text can have become
    /// control tokens. A reply is compared as text (its tokens decoded): a reply keeps the tokens the
    /// model sampled, which need not be the ones encoding its text would give. Replies before the last
    /// are as the template writes an earlier reply (Qwen3: the answer alone); the last one is either as it
    /// was generated (after the generation prompt, with Qwen3's empty think block when thinking was off)
    /// or as a rebuild renders it.
    func assertMemoryMatches(_ chat: ChatController, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let template = chat.template
        let tokenizer = chat.tokenizer
        let exchanges = chat.conversation.exchanges
        let held = chat.context.exchanges
        let ids = exchanges.map(\.id)
        guard held.count <= ids.count, Array(ids.suffix(held.count)) == held else {
            return XCTFail("\(context): the model holds \(held), the conversation's exchanges are \(ids)", file: file, line: line)
        }
        let tokens = chat.context.tokens
        if held.isEmpty {
            XCTAssertTrue(tokens.isEmpty, "\(context): no exchange held, yet \(tokens.count) tokens", file: file, line: line)
            return
        }
        // Turns start at <|im_start|>.
        let start = template.turnStart(.user)[0]
        var turns: [[Int32]] = []
        for token in tokens {
            if token == start { turns.append([]) }
            if turns.isEmpty { return XCTFail("\(context): the context does not start with a turn", file: file, line: line) }
            turns[turns.count - 1].append(token)
        }
        let system = chat.systemPrompt.map { template.turn(ChatTurn(role: .system, content: $0)) }
            ?? template.render([], addGenerationPrompt: false)
        var expectedTurns = system.isEmpty ? 0 : 1
        if !system.isEmpty {
            XCTAssertEqual(turns.first, system, "\(context): the system turn", file: file, line: line)
        }
        let kept = exchanges.suffix(held.count)
        expectedTurns += 2 * kept.count
        guard turns.count == expectedTurns else {
            return XCTFail("\(context): \(turns.count) turns in the context, \(expectedTurns) expected: \(tokenizer.decode(tokens))",
                           file: file, line: line)
        }
        var index = system.isEmpty ? 0 : 1
        let closing = [template.endOfTurn] + template.turnSeparator
        for (n, exchange) in kept.enumerated() {
            let last = n == kept.count - 1
            XCTAssertEqual(turns[index], template.turn(ChatTurn(role: .user, content: exchange.user.text)),
                           "\(context): the user turn of \(exchange.id)", file: file, line: line)
            var reply = Array(turns[index + 1].dropFirst())  // <|im_start|>
            if !last {
                guard reply.suffix(closing.count) == closing[...] else {
                    return XCTFail("\(context): reply of \(exchange.id) is not closed", file: file, line: line)
                }
                reply.removeLast(closing.count)
            }
            let said = tokenizer.decode(reply)
            let text = exchange.reply.text
            var accepted = ["assistant\n" + template.replyContent(text, keepsReasoning: false)]
            if last {
                accepted += ["assistant\n" + text, "assistant\n<think>\n\n</think>\n\n" + text,
                             "assistant\n" + template.replyContent(text, keepsReasoning: true)]
            }
            XCTAssertTrue(accepted.contains(said), "\(context): the reply of \(exchange.id) holds \(said.debugDescription), the conversation says \(text.debugDescription)",
                          file: file, line: line)
            index += 2
        }
    }
}
