import Foundation
import Tokenizer

/// Qwen's ChatML chat format, rendered straight to token ids.
///
/// `<|im_start|>ROLE\nCONTENT<|im_end|>\n` per message, then `<|im_start|>assistant\n` to prompt a reply.
/// Control tokens are inserted by id; message text is encoded with special parsing off, so nothing a
/// user types can open or close a turn. The text between two control tokens is encoded as one segment,
/// exactly as Hugging Face encodes the rendered template string.
///
/// Qwen's published Jinja templates (Qwen1.5, Qwen2, Qwen2.5, Qwen3) differ, for the conversations a chat
/// has (no tools), only in what this type reads off the file's `tokenizer.chat_template`: the default
/// system prompt (Qwen1.5/2: "You are a helpful assistant", with or without a period; Qwen2.5: "You are
/// Qwen, created by Alibaba Cloud. …"; Qwen3: none) and Qwen3's think blocks: a reply's reasoning is
/// kept only while no user message follows it, and `enable_thinking=false` adds an empty block to the
/// generation prompt. No Jinja engine is needed for that; `template-goldens.json` proves the rendering
/// against `transformers` on each published template. A template that is none of these gets ChatML and a
/// `warning` that says so.
public struct ChatTemplate: Sendable {
    /// The system prompt the template adds when the conversation has none.
    public let defaultSystemPrompt: String?
    /// Whether the template knows Qwen3's `<think>` block: `thinking: false` adds an empty one, and a
    /// reply's reasoning leaves the conversation once a user message follows it.
    public let supportsThinking: Bool
    /// Set when the file's template is not Qwen's ChatML: what qwentty does instead, in one line.
    public let warning: String?
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
        warning = templateSource.flatMap { Self.rendersChatML($0) ? nil : "this model's chat template is not Qwen's ChatML, so qwentty cannot render it; chatting uses ChatML, which the model may not follow (--raw prompts it directly)" }
    }

    /// Whether a Jinja template writes Qwen's ChatML turns: every message as `'<|im_start|>' + its role +
    /// '\n' + its content`, and `<|im_start|>assistant\n` as the generation prompt. Qwen1.5 to Qwen3 write
    /// `message['role']` or `message.role`; that is all this looks for, since any template that builds
    /// its turns this way renders a tool-free conversation as `render` does.
    static func rendersChatML(_ source: String) -> Bool {
        // A newline may be written raw inside a string literal (Qwen1.5's GGUF) or escaped (the JSON files).
        let compact = source.replacingOccurrences(of: "\n", with: "\\n").filter { !$0.isWhitespace }
        let turn = ["'<|im_start|>'+message['role']+'\\n'+message['content']", "'<|im_start|>'+message.role+'\\n'+message.content"]
        return turn.contains { compact.contains($0) } && compact.contains("<|im_start|>assistant\\n")
    }

    /// The first `<|im_start|>system` turn that the template writes as a plain string literal, e.g.
    /// `'<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'`. The newline may be written raw
    /// or as the escape `\n`. A turn built from variables (`' + messages[0]...`) is not a default.
    ///
    /// One pass over the bytes: the template comes from the file, and a crafted one that opens thousands
    /// of system turns before one `<|im_end|>` must not cost a search per opening (that took 57 s on
    /// 400 KB). Openings that share a closing share its search and its scan for quote characters.
    static func literalSystemPrompt(in source: String) -> String? {
        let bytes = Array(source.utf8)
        let opening = Array("<|im_start|>system".utf8), closing = Array("<|im_end|>".utf8)
        let code = Set("'\"{}+".utf8)
        var from = 0
        var close = -1          // the `<|im_end|>` that ends the current literal
        var lastCode = -1       // the last code character before `close` (-1: none after the literal's start)
        while let open = Self.find(opening, in: bytes, from: from) {
            from = open + opening.count
            var body = from
            if Self.find(Array("\\n".utf8), in: bytes, from: body, anchored: true) != nil {
                body += 2
            } else if body < bytes.count, bytes[body] == UInt8(ascii: "\n") {
                body += 1
            } else {
                continue
            }
            if close < body {
                guard let found = Self.find(closing, in: bytes, from: body) else { return nil }
                close = found
                lastCode = (body ..< close).last { code.contains(bytes[$0]) } ?? -1
            }
            if close == body || lastCode >= body { continue }
            return String(decoding: bytes[body ..< close], as: UTF8.self).replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }

    /// The first index at or after `start` where `needle` occurs (only at `start` when `anchored`).
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int, anchored: Bool = false) -> Int? {
        guard let first = needle.first, start + needle.count <= bytes.count else { return nil }
        let lastStart = anchored ? start : bytes.count - needle.count
        var i = start
        while i <= lastStart {
            if bytes[i] == first, bytes[i ..< i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Tokens of a whole conversation. The default system prompt is added when the first message is not
    /// a system message; `addGenerationPrompt` appends the assistant header (and, when the template
    /// supports thinking and `thinking` is off, the empty think block). With Qwen3's template, a reply
    /// keeps its reasoning only after the last user message (when it is the last message, or has any).
    public func render(_ messages: [ChatTurn], addGenerationPrompt: Bool = true, thinking: Bool = true) -> [Int32] {
        var out: [Int32] = []
        if messages.first?.role != .system, let system = defaultSystemPrompt {
            out += turn(ChatTurn(role: .system, content: system))
        }
        let lastQuery = messages.lastIndex { $0.role == .user } ?? messages.count - 1
        for (index, message) in messages.enumerated() {
            guard message.role == .assistant, supportsThinking else {
                out += turn(message)
                continue
            }
            let reasoning = Self.splitReasoning(message.content)?.reasoning ?? ""
            let keeps = index > lastQuery && (index == messages.count - 1 || !reasoning.isEmpty)
            out += turn(ChatTurn(role: .assistant, content: replyContent(message.content, keepsReasoning: keeps)))
        }
        if addGenerationPrompt { out += generationPrompt(thinking: thinking) }
        return out
    }

    /// The text the template writes for a reply. Qwen3's template splits off the reasoning (the text
    /// before `</think>`) and writes it back, as `<think>\nREASONING\n</think>\n\n` before the answer,
    /// only when `keepsReasoning`; other templates write the reply as it is.
    public func replyContent(_ reply: String, keepsReasoning: Bool) -> String {
        guard supportsThinking else { return reply }
        let (reasoning, answer) = Self.splitReasoning(reply) ?? ("", reply)
        guard keepsReasoning else { return answer }
        return "<think>\n" + Self.trimming(reasoning, leading: true, trailing: true) + "\n</think>\n\n"
            + Self.trimming(answer, leading: true, trailing: false)
    }

    /// A reply's reasoning and answer, split as Qwen3's template does: the answer is what follows the
    /// last `</think>` (leading newlines dropped); the reasoning is what precedes the first, after the
    /// last `<think>` before it, without the newlines around it. Nil when there is no `</think>`.
    /// `ThinkingSplitter` applies this rule as a reply streams (what the screen and the badge read).
    public static func splitReasoning(_ reply: String) -> (reasoning: String, answer: String)? {
        let parts = reply.components(separatedBy: "</think>")
        guard parts.count > 1, let first = parts.first, let last = parts.last else { return nil }
        let opened = first.components(separatedBy: "<think>").last ?? first
        return (trimming(trimming(opened, leading: false, trailing: true), leading: true, trailing: false),
                trimming(last, leading: true, trailing: false))
    }

    /// `text` without newlines at the chosen ends (Python's `lstrip('\n')` / `rstrip('\n')`).
    private static func trimming(_ text: String, leading: Bool, trailing: Bool) -> String {
        var slice = Substring(text)
        while leading, slice.first == "\n" { slice = slice.dropFirst() }
        while trailing, slice.last == "\n" { slice = slice.dropLast() }
        return String(slice)
    }

    /// `<|im_start|>ROLE\nCONTENT<|im_end|>` followed by the "\n" that separates turns.
    public func turn(_ message: ChatTurn) -> [Int32] {
        [imStart] + tokenizer.encode(message.role.rawValue + "\n" + message.content) + [imEnd] + tokenizer.encode("\n")
    }

    /// An assistant turn with `content` as the reply, not yet closed (`<|im_start|>assistant\nCONTENT`):
    /// how a reply sits in the cache until the next turn closes it.
    public func replyTurn(_ content: String) -> [Int32] {
        [imStart] + tokenizer.encode(ChatTurn.Role.assistant.rawValue + "\n" + content)
    }

    /// `<|im_start|>ROLE\n` alone: the start of a turn whose content is appended separately (the
    /// sentiment classifier caches everything up to the message).
    public func turnStart(_ role: ChatTurn.Role) -> [Int32] {
        [imStart] + tokenizer.encode(role.rawValue + "\n")
    }

    /// The tokens that follow a generated `<|im_end|>` before the next turn can start.
    public var turnSeparator: [Int32] { tokenizer.encode("\n") }

    /// The assistant header, then (when the template supports thinking and it is off) the empty think
    /// block that tells Qwen3 to answer at once.
    public func generationPrompt(thinking: Bool = true) -> [Int32] {
        var out = [imStart] + tokenizer.encode("assistant\n")
        if supportsThinking, !thinking {
            out += tokenizer.encode("<think>\n\n</think>\n\n", parseSpecial: true)
        }
        return out
    }

    public var endOfTurn: Int32 { imEnd }
}
