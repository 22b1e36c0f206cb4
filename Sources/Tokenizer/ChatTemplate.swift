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
/// The Jinja templates in Qwen's files differ only in details this type reproduces by `Flavor` (read off
/// the file's `tokenizer.chat_template`): the default system prompt of Qwen1.5/2 and Qwen2.5, and Qwen3's
/// think block.
public struct ChatTemplate: Sendable {
    public enum Flavor: Sendable, Equatable {
        /// Qwen1.5 / Qwen2: "You are a helpful assistant." when no system message is given.
        case qwen2
        /// Qwen2.5: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        case qwen25
        /// Qwen3: no default system prompt; an empty think block disables thinking.
        case qwen3
        /// Plain ChatML with no default system prompt.
        case chatml
    }

    public let flavor: Flavor
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
        flavor = Self.flavor(of: templateSource)
    }

    public static func flavor(of source: String?) -> Flavor {
        guard let source else { return .chatml }
        if source.contains("<think>") { return .qwen3 }
        if source.contains("You are Qwen, created by Alibaba Cloud") { return .qwen25 }
        if source.contains("You are a helpful assistant") { return .qwen2 }
        return .chatml
    }

    public var defaultSystemPrompt: String? {
        switch flavor {
        case .qwen2: return "You are a helpful assistant."
        case .qwen25: return "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        case .qwen3, .chatml: return nil
        }
    }

    /// Tokens of a whole conversation. The default system prompt is added when the first message is not
    /// a system message; `addGenerationPrompt` appends the assistant header (and, for Qwen3 with
    /// `thinking` off, the empty think block).
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

    /// The tokens that follow a generated `<|im_end|>` before the next turn can start.
    public var turnSeparator: [Int32] { tokenizer.encode("\n") }

    public func generationPrompt(thinking: Bool = true) -> [Int32] {
        var out = [imStart] + tokenizer.encode("assistant\n")
        if flavor == .qwen3, !thinking {
            out += tokenizer.encode("<think>\n\n</think>\n\n", parseSpecial: true)
        }
        return out
    }

    public var endOfTurn: Int32 { imEnd }
}
