import Inference

/// One message of a conversation: the single record of it. The screen draws it, the saved chat encodes
/// it, the badge judges it and the engine is fed it; each of those reads these fields and keeps no copy.
public struct Message: Identifiable, Equatable, Sendable {
    /// Stable for the life of the chat (not saved): late events, such as a reply's badge, find their
    /// message by it, and a user message's id names its exchange in the model's context.
    public struct ID: Hashable, Sendable, Comparable, CustomStringConvertible {
        public let value: Int
        public init(_ value: Int) { self.value = value }
        public static func < (a: ID, b: ID) -> Bool { a.value < b.value }
        public var description: String { "message \(value)" }
    }

    public enum Role: String, Codable, Sendable { case user, assistant }

    /// How a message stands. A user message is `.complete` once sent, or `.failed` when it was refused;
    /// a reply is `.streaming` until it stops, then says why.
    public enum Status: Equatable, Sendable {
        case streaming
        case complete
        /// Stopped by Esc (or cut off by a quit or a lost connection).
        case cut
        /// Stopped at the reply-token limit.
        case tokenLimit
        /// Filled the whole context by itself.
        case contextFull
        /// Refused or broken off by an error: the reason, in words. Such a message is never fed back to
        /// the model (regenerate, resume and a rebuild skip it), and its text is kept.
        case failed(String)

        public var isFailed: Bool {
            if case .failed = self { return true }
            return false
        }
    }

    /// The badge: the classifier's label and its probability.
    public struct Sentiment: Equatable, Sendable {
        public var label: String
        public var probability: Float
        /// How long the classifier took (0 for a badge read back from a saved chat).
        public var latencySeconds: Double
        public init(label: String, probability: Float, latencySeconds: Double = 0) {
            self.label = label
            self.probability = probability
            self.latencySeconds = latencySeconds
        }
    }

    public let id: ID
    public let role: Role
    public internal(set) var status: Status
    public internal(set) var sentiment: Sentiment?
    /// The text split into reasoning and answer as it streams (for a user message, all answer).
    public private(set) var parts: ThinkingSplitter
    /// Bumped on every change, so a screen's layout caches know when they are stale.
    public private(set) var revision = 0
    /// Times the text was replaced rather than extended.
    private var replacements = 0

    /// As written: what is saved, exported, copied and given back to the model.
    public var text: String { parts.text }
    /// What a reply says to the user (after its think block): the screen's markdown, the badge's input.
    public var answer: String { parts.answer }
    /// A Qwen3 reply's think block (nil: none).
    public var reasoning: String? { parts.reasoning }
    public var isStreaming: Bool { status == .streaming }
    /// Changes whenever `answer` is replaced rather than extended: a screen that appends the answer's new
    /// text as it streams starts over when it does.
    public var answerRevision: Int { replacements + parts.answerRevision }

    init(id: ID, role: Role, text: String, status: Status, recognisesThinking: Bool) {
        self.id = id
        self.role = role
        self.status = status
        parts = ThinkingSplitter(recognisesThinking: recognisesThinking && role == .assistant)
        parts.append(text)
        if status != .streaming { parts.finish() }
    }

    mutating func append(_ piece: String) {
        parts.append(piece)
        revision += 1
    }

    mutating func set(status: Status) {
        self.status = status
        if status != .streaming { parts.finish() }
        revision += 1
    }

    mutating func set(sentiment: Sentiment?) {
        self.sentiment = sentiment
        revision += 1
    }

    /// Splits the text afresh (the chat moved to a model whose template differs in think blocks).
    mutating func resplit(recognisesThinking: Bool) {
        let text = parts.text
        parts = ThinkingSplitter(recognisesThinking: recognisesThinking && role == .assistant)
        parts.append(text)
        if status != .streaming { parts.finish() }
        replacements += 1 + parts.answerRevision
        revision += 1
    }

    /// Replaces the text (a continued reply put back as the model holds it, a regenerated one emptied).
    mutating func replaceText(_ text: String, status: Status) {
        parts = ThinkingSplitter(recognisesThinking: parts.recognisesThinking)
        parts.append(text)
        replacements += 1 + parts.answerRevision
        set(status: status)
    }
}
