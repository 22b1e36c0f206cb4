import Essentials
import Foundation
import Inference

/// A conversation as stored on disk (JSON) and exported (markdown): the `Conversation` itself, with the
/// chat's name, model, system prompt and settings. Notices are screen-only and not kept.
///
/// Format 2 writes each message's `stop` (and a refused message's `failure`); files of format 1, which
/// wrote `cut` and `limit` flags instead, still open.
public struct SavedChat: Codable, Equatable {
    public var format = 2
    /// Given with `/rename`; `--resume NAME` and `/load NAME` find the chat by it.
    public var name: String?
    public var model: String
    public var systemPrompt: String?
    /// Sampling and the reply limit as `/set` left them (nil in files from before `/set`).
    public var settings: RuntimeSettings.Saved?
    public var created: Date
    public var conversation: Conversation

    enum CodingKeys: String, CodingKey {
        case format, name, model, systemPrompt, settings, created
        case conversation = "messages"
    }

    public init(model: String, systemPrompt: String?, created: Date, conversation: Conversation) {
        self.model = model
        self.systemPrompt = systemPrompt
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))  // what ISO 8601 keeps
        self.conversation = conversation
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

    /// Markdown for `/save`: a title, then each message under a heading with its sentiment. Replies
    /// are markdown already and go in as they are; user text is quoted so it cannot restyle the export.
    public func markdown() -> String {
        let stamp = ISO8601DateFormatter().string(from: created)
        var out = "# qwentty chat\n\n- model: `\(TerminalSanitizer.display(model, keepNewlines: false))`\n- started: \(stamp)\n"
        if let systemPrompt { out += "- system prompt: \(TerminalSanitizer.display(systemPrompt.replacingOccurrences(of: "\n", with: " ")))\n" }
        for message in conversation.messages where !(message.isStreaming && message.text.isEmpty) {
            let who = message.role == .user ? "You" : "Qwen"
            var heading = "\n## \(who)"
            if let sentiment = message.sentiment {
                heading += " · \(TerminalSanitizer.display(sentiment.label, keepNewlines: false)) \(Int((sentiment.probability * 100).rounded()))%"
            }
            switch message.status {
            case .cut, .streaming: heading += " · (cut)"
            case .tokenLimit: heading += " · (token limit)"
            case .failed(let reason): heading += " · (not sent: \(TerminalSanitizer.display(reason, keepNewlines: false)))"
            case .complete, .contextFull: break
            }
            out += heading + "\n\n"
            // The export is a file people `cat`: its text is drawn as the screen draws it.
            let content = TerminalSanitizer.display(message.text)
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

/// A conversation is saved as its list of messages; ids are not kept (they are given afresh on
/// opening), and entries that are not messages (a notice some version wrote, an unknown role) are
/// skipped rather than failing the whole file.
extension Conversation: Codable {
    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        self.init(recognisesThinking: false)
        while !container.isAtEnd {
            guard let saved = try container.decode(LenientMessage.self).message else { continue }
            let id = append(saved.role, saved.content, status: saved.status)
            if let sentiment = saved.sentiment { update(id) { $0.set(sentiment: sentiment) } }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        // A reply cut off while it streamed (a quit, a dropped connection) is saved as cut; one that had
        // not started is not saved.
        for message in messages where !(message.isStreaming && message.text.isEmpty) {
            try container.encode(SavedMessage(message))
        }
    }
}

/// One message as the file keys it.
struct SavedMessage: Codable {
    var role: Message.Role
    var content: String
    var sentiment: String?
    var sentimentProbability: Float?
    /// "cut", "token_limit", "context_full", "failed"; absent for a complete message.
    var stop: String?
    /// Why a failed message was refused.
    var failure: String?
    /// Format 1: the reply was cancelled (or, in files written before `limit`, hit the token limit).
    var cut: Bool?
    /// Format 1: the reply stopped at the reply-token limit.
    var limit: Bool?

    init(_ message: Message) {
        role = message.role
        content = message.text
        sentiment = message.sentiment?.label
        sentimentProbability = message.sentiment?.probability
        switch message.status {
        case .complete: stop = nil
        case .cut, .streaming: stop = "cut"
        case .tokenLimit: stop = "token_limit"
        case .contextFull: stop = "context_full"
        case .failed(let reason):
            stop = "failed"
            failure = reason
        }
    }

    var status: Message.Status {
        switch stop {
        case "cut"?: return .cut
        case "token_limit"?: return .tokenLimit
        case "context_full"?: return .contextFull
        case "failed"?: return .failed(failure ?? "not sent")
        default: return limit == true ? .tokenLimit : cut == true ? .cut : .complete
        }
    }

    /// A badge whose probability is not one (NaN, out of 0…1) is dropped: it is input like any other.
    var savedSentiment: Message.Sentiment? {
        guard let label = sentiment, let p = sentimentProbability, p.isFinite, (0 ... 1).contains(p) else { return nil }
        return Message.Sentiment(label: label, probability: p)
    }
}

private struct LenientMessage: Decodable {
    let message: (role: Message.Role, content: String, status: Message.Status, sentiment: Message.Sentiment?)?

    init(from decoder: Decoder) throws {
        // An unknown role is skipped; any other malformed message fails the file, as it should.
        struct Role: Decodable { let role: String }
        guard Message.Role(rawValue: try Role(from: decoder).role) != nil else {
            message = nil
            return
        }
        let saved = try SavedMessage(from: decoder)
        message = (saved.role, saved.content, saved.status, saved.savedSentiment)
    }
}
