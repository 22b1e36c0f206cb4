import ModelFiles

/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// Qwen's ChatML chat format, rendered straight to token ids.
///
/// `<|im_start|>ROLE\nCONTENT<|im_end|>\n` per message, then `<|im_start|>assistant\n` to prompt a reply.
/// Control tokens are inserted by id; message text is encoded with special parsing off, so nothing a
/// user types can open or close a turn. The text between two control tokens is encoded as one segment,
/// exactly as Hugging Face encodes the rendered template string.
///
/// Qwen's Jinja templates differ between releases only in what this type reads off the file's
/// `tokenizer.chat_template`: the default system prompt (Qwen1.5/2: "You are a helpful assistant",
/// with or without a period; Qwen2.5: "You are Qwen, created by Alibaba Cloud. …"; Qwen3: none) and
/// Qwen3's think block. No Jinja engine is needed for that.
public struct ChatTemplate: Sendable {
    /// The system prompt the template adds when the conversation has none.
    public let defaultSystemPrompt: String?
    /// Whether the template knows Qwen3's `<think>` block (then `thinking: false` adds an empty one).
    public let supportsThinking: Bool
    private let imStart: Int32
    private let imEnd: Int32
    private let tokenizer: QwenTokenizer

    public enum TemplateError: Error, CustomStringConvertible {
        case noChatTokens
        public var description: String {
            "this model's vocabulary has no <|im_start|>/<|im_end|> tokens, so it has no chat format; use --raw"
        }
    }

    public init(tokenizer: QwenTokenizer, templateSource: String?) throws {
        guard let start = tokenizer.imStartID, let end = tokenizer.imEndID else { throw TemplateError.noChatTokens }
        imStart = start
        imEnd = end
        self.tokenizer = tokenizer
        defaultSystemPrompt = templateSource.flatMap(Self.literalSystemPrompt)
        supportsThinking = templateSource?.contains("<think>") ?? false
    }

    /// The first `<|im_start|>system` turn that the template writes as a plain string literal, e.g.
    /// `'<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'`. The newline may be written raw
    /// or as the escape `\n`. A turn built from variables (`' + messages[0]...`) is not a default.
    static func literalSystemPrompt(in source: String) -> String? {
        var rest = source[...]
        while let open = rest.range(of: "<|im_start|>system") {
            rest = rest[open.upperBound...]
            var body = rest
            if body.hasPrefix("\\n") {
                body = body.dropFirst(2)
            } else if body.hasPrefix("\n") {
                body = body.dropFirst(1)
            } else {
                continue
            }
            guard let close = body.range(of: "<|im_end|>") else { return nil }
            let literal = body[..<close.lowerBound]
            if literal.isEmpty || literal.contains(where: { "'\"{}+".contains($0) }) { continue }
            return String(literal).replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }

    /// Tokens of a whole conversation. The default system prompt is added when the first message is not
    /// a system message; `addGenerationPrompt` appends the assistant header (and, when the template
    /// supports thinking and `thinking` is off, the empty think block).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, thinking: Bool = true) -> [Int32] {
        var out: [Int32] = []
        if messages.first?.role != .system, let system = defaultSystemPrompt {
            out += turn(ChatMessage(role: .system, content: system))
        }
        for message in messages { out += turn(message) }
        if addGenerationPrompt { out += generationPrompt(thinking: thinking) }
        return out
    }

    /// `<|im_start|>ROLE\nCONTENT<|im_end|>` followed by the "\n" that separates turns.
    public func turn(_ message: ChatMessage) -> [Int32] {
        [imStart] + tokenizer.encode(message.role.rawValue + "\n" + message.content) + [imEnd] + tokenizer.encode("\n")
    }

    /// `<|im_start|>ROLE\n` alone: the start of a turn whose content is appended separately (the
    /// sentiment classifier caches everything up to the message).
    public func turnStart(_ role: ChatMessage.Role) -> [Int32] {
        [imStart] + tokenizer.encode(role.rawValue + "\n")
    }

    /// The tokens that follow a generated `<|im_end|>` before the next turn can start.
    public var turnSeparator: [Int32] { tokenizer.encode("\n") }

    public func generationPrompt(thinking: Bool = true) -> [Int32] {
        var out = [imStart] + tokenizer.encode("assistant\n")
        if supportsThinking, !thinking {
            out += tokenizer.encode("<think>\n\n</think>\n\n", parseSpecial: true)
        }
        return out
    }

    public var endOfTurn: Int32 { imEnd }
}
