import Foundation
import Inference
import Tokenizer

/// A conversation as stored on disk (JSON) and exported (markdown). Notices are screen-only and not kept.
public struct SavedChat: Codable, Equatable {
    public struct Message: Codable, Equatable {
        public var role: Transcript.Role
        public var content: String
        public var sentiment: String?
        public var sentimentProbability: Float?
        /// The reply was cancelled (or, in files written before `limit`, hit the token limit).
        public var cut: Bool?
        /// The reply stopped at the reply-token limit.
        public var limit: Bool?
    }

    public var format = 1
    /// Given with `/rename`; `--resume NAME` and `/load NAME` find the chat by it.
    public var name: String?
    public var model: String
    public var systemPrompt: String?
    /// Sampling and the reply limit as `/set` left them (nil in files from before `/set`).
    public var settings: RuntimeSettings.Saved?
    public var created: Date
    public var messages: [Message]

    public init(model: String, systemPrompt: String?, created: Date, transcript: Transcript) {
        self.model = model
        self.systemPrompt = systemPrompt
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))  // what ISO 8601 keeps
        messages = transcript.entries.filter { $0.role != .notice && !($0.role == .assistant && $0.streaming && $0.text.isEmpty) }.map {
            Message(role: $0.role, content: $0.text, sentiment: $0.sentiment?.label,
                    sentimentProbability: $0.sentiment?.probability, cut: $0.cut || $0.streaming ? true : nil,
                    limit: $0.hitLimit ? true : nil)
        }
    }

    public init(json: Data) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        self = try decoder.decode(SavedChat.self, from: json)
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The messages as the engine rebuilds them (user/assistant in order).
    public var chatMessages: [ChatMessage] {
        messages.compactMap {
            switch $0.role {
            case .user: return ChatMessage(role: .user, content: $0.content)
            case .assistant: return ChatMessage(role: .assistant, content: $0.content)
            case .notice: return nil
            }
        }
    }

    /// Markdown for `/save`: a title, then each message under a heading with its sentiment. Replies
    /// are markdown already and go in as they are; user text is quoted so it cannot restyle the export.
    public func markdown() -> String {
        let stamp = ISO8601DateFormatter().string(from: created)
        var out = "# qwentty chat\n\n- model: `\(model)`\n- started: \(stamp)\n"
        if let systemPrompt { out += "- system prompt: \(systemPrompt.replacingOccurrences(of: "\n", with: " "))\n" }
        for message in messages {
            let who = message.role == .user ? "You" : "Qwen"
            var heading = "\n## \(who)"
            if let label = message.sentiment, let p = message.sentimentProbability {
                heading += " · \(label) \(Int((p * 100).rounded()))%"
            }
            if message.cut == true { heading += " · (cut)" }
            if message.limit == true { heading += " · (token limit)" }
            out += heading + "\n\n"
            // The export is a file people `cat`: its text is drawn as the screen draws it.
            let content = Transcript.clean(message.content)
            if message.role == .user {
                out += content.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n")
            } else {
                out += content
            }
            out += "\n"
        }
        return out
    }
}
