import Tokenizer
import Transformer

/// A conversation whose KV cache persists across turns, so each turn prefills only its own tokens.
///
/// The cache always holds exactly the rendered conversation so far. A reply that ended on `<|im_end|>`
/// leaves that token unfed (it was sampled, not computed); it is fed, with the turn separator, at the
/// start of the next turn. A reply cut short (cancel, token limit) is closed the same way.
public final class ChatSession {
    public let generator: TextGenerator
    public let template: ChatTemplate
    public let cache: KVCache
    public private(set) var messages: [ChatMessage] = []
    /// Every token in the cache, in order (what the repetition penalty and a later session copy see).
    public private(set) var tokens: [Int32] = []
    public var systemPrompt: String?
    /// Qwen3 only: whether the model may think before answering (an empty think block disables it).
    public var thinking: Bool

    public init(generator: TextGenerator, template: ChatTemplate, contextSize: Int? = nil,
                systemPrompt: String? = nil, thinking: Bool = true) {
        self.generator = generator
        self.template = template
        cache = generator.model.makeCache(contextSize: contextSize)
        self.systemPrompt = systemPrompt
        self.thinking = thinking
    }

    /// Tokens that the next user turn must prefill: the closing of the previous reply (if any), the
    /// system prompt (first turn only), the user turn and the assistant header.
    public func pendingTokens(forUserText text: String) -> [Int32] {
        var out: [Int32] = []
        if tokens.isEmpty {
            if let system = systemPrompt {
                out += template.turn(ChatMessage(role: .system, content: system))
            } else {
                out += template.render([], addGenerationPrompt: false)
            }
        } else if messages.last?.role == .assistant {
            out += [template.endOfTurn] + template.turnSeparator
        }
        out += template.turn(ChatMessage(role: .user, content: text))
        out += template.generationPrompt(thinking: thinking)
        return out
    }

    /// What a chat turn reports, in order: the user message's sentiment (before the reply starts), the
    /// reply's tokens, then the reply's sentiment once it is complete.
    public enum Event {
        case userSentiment(SentimentClassifier.Result)
        case token(GeneratedToken)
        case assistantSentiment(SentimentClassifier.Result)
    }

    /// Sends a user message and streams the reply through `onEvent` (return false from a token event to
    /// cancel). With a `classifier`, both messages get a sentiment; it runs on its own cache, so the
    /// conversation's cache is untouched.
    public func send(_ text: String, sampler: inout Sampler, maxTokens: Int, classifier: SentimentClassifier? = nil,
                     onEvent: (Event) -> Bool) throws -> TextGenerator.Result {
        let prompt = pendingTokens(forUserText: text)
        if cache.count + prompt.count + 1 > cache.contextSize {
            throw ForwardError.contextFull(needed: cache.count + prompt.count + 1, contextSize: cache.contextSize)
        }
        if let classifier { _ = onEvent(.userSentiment(try classifier.classify(text))) }
        var reply = ""
        let result = try generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: maxTokens,
                                            history: tokens) { event in
            reply += event.text
            return onEvent(.token(event))
        }
        // On a full context the last token may not have been fed: keep the list equal to the cache.
        tokens = Array((tokens + prompt + result.tokens).prefix(cache.count))
        messages.append(ChatMessage(role: .user, content: text))
        messages.append(ChatMessage(role: .assistant, content: reply))
        if let classifier { _ = onEvent(.assistantSentiment(try classifier.classify(reply))) }
        return result
    }

    /// Forgets the conversation (the cache is reused).
    public func reset() {
        cache.truncate(to: 0)
        tokens = []
        messages = []
    }
}
