import TestSupport
import Tokenizer
import XCTest
@testable import Inference

/// A multi-turn conversation under Qwen3's published template: the cache holds what
/// `apply_chat_template` renders for the conversation so far (whose rendering `PublishedTemplateTests`
/// proves against `transformers`), so each earlier reply's reasoning leaves it when the next message comes.
final class ThinkingConversationTests: XCTestCase {
    private func session(thinking: Bool) throws -> (LoadedModel, ChatSession) {
        let loaded = try LoadedModel(path: TestPaths.fixture("tiny-qwen3-f32.gguf"), threads: 2, contextSize: 512)
        let template = try ChatTemplate(tokenizer: loaded.tokenizer, templateSource: try PublishedTemplateTests.templateSource("qwen3"))
        XCTAssertTrue(template.supportsThinking)
        return (loaded, ChatSession(generator: loaded.generator, template: template, contextSize: 512, thinking: thinking))
    }

    private let history = [
        ChatTurn(role: .user, content: "Hi"),
        ChatTurn(role: .assistant, content: "<think>\nThey greet me.\n</think>\n\nHello!"),
        ChatTurn(role: .user, content: "Bye"),
        ChatTurn(role: .assistant, content: "<think>\nShort.\n</think>\n\nGoodbye."),
    ]

    /// A restored chat is what a live one holds after its last reply (that reply keeps its reasoning);
    /// the next message drops it, and the cache is the template's rendering of everything before the reply.
    func testTheNextMessageDropsTheLastReplysReasoning() throws {
        for thinking in [true, false] {
            let (loaded, chat) = try session(thinking: thinking)
            let template = chat.template
            try chat.restore(history)
            let closing = [template.endOfTurn] + template.turnSeparator
            XCTAssertEqual(chat.tokens, Array(template.render(history, addGenerationPrompt: false).dropLast(closing.count)))
            XCTAssertTrue(loaded.tokenizer.decode(chat.tokens).contains("Short."), "the last reply keeps its reasoning")

            var sampler = Sampler(settings: .greedy)
            let next = ChatTurn(role: .user, content: "One more")
            let result = try chat.send(next.content, sampler: &sampler, maxTokens: 4) { _ in true }
            let expected = template.render(history + [next], addGenerationPrompt: true, thinking: thinking)
            XCTAssertEqual(Array(chat.tokens.prefix(expected.count)), expected, "thinking=\(thinking)")
            XCTAssertEqual(Array(chat.tokens.dropFirst(expected.count)), Array(result.tokens.prefix(chat.tokens.count - expected.count)))
            XCTAssertFalse(loaded.tokenizer.decode(chat.tokens).contains("Short."), "reasoning of earlier replies is gone")
            try assertCacheMatchesTokens(loaded, chat)
        }
    }

    /// Live turns: with thinking off, the empty think block of the generation prompt leaves each reply when
    /// the next message comes, as the template renders an earlier reply without it.
    func testLiveRepliesAreSettledAsTheTemplateRendersThem() throws {
        for thinking in [true, false] {
            let (loaded, chat) = try session(thinking: thinking)
            var sampler = Sampler(settings: .greedy)
            var said: [ChatTurn] = []
            for text in ["First", "Second", "Third"] {
                said.append(ChatTurn(role: .user, content: text))
                let before = chat.template.render(said, addGenerationPrompt: true, thinking: thinking)
                let result = try chat.send(text, sampler: &sampler, maxTokens: 6) { _ in true }
                XCTAssertEqual(Array(chat.tokens.prefix(before.count)), before, "thinking=\(thinking), turn \(text)")
                said.append(ChatTurn(role: .assistant, content: loaded.tokenizer.decode(result.tokens, skipControl: true)))
            }
            XCTAssertEqual(chat.exchangeCount, 3)
            try assertCacheMatchesTokens(loaded, chat)
            XCTAssertTrue(chat.dropLastExchange())
            XCTAssertEqual(chat.exchangeCount, 2)
        }
    }
}
