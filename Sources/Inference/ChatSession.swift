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
    /// Cache length before each user turn was fed (one per user message): where to cut to take a turn back.
    private var turnStarts: [Int] = []
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

    /// Sends a user message and streams the reply through `onToken` (return false to cancel).
    public func send(_ text: String, sampler: inout Sampler, maxTokens: Int,
                     onToken: (GeneratedToken) -> Bool) throws -> TextGenerator.Result {
        let prompt = pendingTokens(forUserText: text)
        if cache.count + prompt.count + 1 > cache.contextSize {
            throw ForwardError.contextFull(needed: cache.count + prompt.count + 1, contextSize: cache.contextSize)
        }
        var reply = ""
        let start = cache.count
        let result: TextGenerator.Result
        do {
            result = try generator.generate(prompt: prompt, cache: cache, sampler: &sampler, maxTokens: maxTokens,
                                            history: tokens) { event in
                reply += event.text
                return onToken(event)
            }
        } catch {
            cache.truncate(to: start)  // the turn never happened: the cache still matches `tokens`
            throw error
        }
        // On a full context the last token may not have been fed: keep the list equal to the cache.
        tokens = Array((tokens + prompt + result.tokens).prefix(cache.count))
        turnStarts.append(start)
        messages.append(ChatMessage(role: .user, content: text))
        messages.append(ChatMessage(role: .assistant, content: reply))
        return result
    }

    /// Forgets the conversation (the cache is reused).
    public func reset() {
        cache.truncate(to: 0)
        tokens = []
        messages = []
        turnStarts = []
    }

    /// Takes back the last exchange (user message and reply) and returns the user message, so it can be
    /// edited or regenerated. Only the cache is cut: nothing before that turn is recomputed.
    @discardableResult
    public func dropLastExchange() -> String? {
        guard let start = turnStarts.popLast(), let userIndex = messages.lastIndex(where: { $0.role == .user }) else { return nil }
        let text = messages[userIndex].content
        messages.removeSubrange(userIndex...)
        cache.truncate(to: start)
        tokens.removeSubrange(start...)
        return text
    }

    /// Rebuilds the conversation from saved `history` (alternating user and assistant messages), feeding
    /// it as one prefill: what a resumed session or a changed system prompt needs. When it does not fit
    /// in `budget` tokens, the oldest exchanges are left out; returns how many messages were.
    @discardableResult
    public func restore(_ history: [ChatMessage], budget: Int? = nil) throws -> Int {
        reset()
        var pairs: [(user: String, reply: String)] = []
        var index = 0
        while index + 1 < history.count {
            if history[index].role == .user, history[index + 1].role == .assistant {
                pairs.append((history[index].content, history[index + 1].content))
                index += 2
            } else {
                index += 1
            }
        }
        let limit = min(budget ?? cache.contextSize, cache.contextSize)
        var dropped = history.count - 2 * pairs.count
        while true {
            var all: [Int32] = []
            var starts: [Int] = []
            var rebuilt: [ChatMessage] = []
            for pair in pairs {
                starts.append(all.count)
                messages = rebuilt  // pendingTokens reads whether a reply precedes
                tokens = all
                all += pendingTokens(forUserText: pair.user) + generator.tokenizer.encode(pair.reply)
                rebuilt += [ChatMessage(role: .user, content: pair.user), ChatMessage(role: .assistant, content: pair.reply)]
            }
            messages = []
            tokens = []
            if all.count <= limit {
                try generator.model.forward(all, cache: cache)
                tokens = all
                messages = rebuilt
                turnStarts = starts
                return dropped
            }
            pairs.removeFirst()
            dropped += 2
        }
    }
}
