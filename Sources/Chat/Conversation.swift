import Inference

/// What was said, in order: the one record of a chat. `ChatController` is its only writer; the screen,
/// the saved chat and the model's context are all read from it.
public struct Conversation: Equatable, Sendable {
    public private(set) var messages: [Message] = []
    /// Whether replies are split at Qwen3's think blocks (the model's template has them).
    public private(set) var recognisesThinking: Bool
    private var nextID = 1

    public init(recognisesThinking: Bool) {
        self.recognisesThinking = recognisesThinking
    }

    /// One exchange as the model is fed it: a sent user message and its finished reply.
    public struct Exchange: Equatable, Sendable {
        public let user: Message
        public let reply: Message
        public var id: ExchangeID { ExchangeID(user.id.value) }
    }

    @discardableResult
    mutating func append(_ role: Message.Role, _ text: String, status: Message.Status) -> Message.ID {
        let id = Message.ID(nextID)
        nextID += 1
        messages.append(Message(id: id, role: role, text: text, status: status, recognisesThinking: recognisesThinking))
        return id
    }

    /// From the end: what is looked up most (a streaming reply's every token) is the newest message.
    public func index(of id: Message.ID) -> Int? {
        messages.lastIndex { $0.id == id }
    }

    public subscript(id: Message.ID) -> Message? {
        index(of: id).map { messages[$0] }
    }

    mutating func update(_ id: Message.ID, _ change: (inout Message) -> Void) {
        guard let index = index(of: id) else { return }
        change(&messages[index])
    }

    /// Splits every reply afresh for a model whose template does (or does not) have think blocks.
    mutating func adopt(recognisesThinking: Bool) {
        guard recognisesThinking != self.recognisesThinking else { return }
        self.recognisesThinking = recognisesThinking
        for index in messages.indices { messages[index].resplit(recognisesThinking: recognisesThinking) }
    }

    mutating func remove(_ ids: Set<Message.ID>) {
        messages.removeAll { ids.contains($0.id) }
    }

    mutating func removeAll() {
        messages.removeAll()
    }

    /// The exchanges the model is to hold, oldest first: each user message that was sent (not refused)
    /// followed by a reply that finished (not streaming, not failed). Failed messages and an unanswered
    /// message are skipped, so nothing refused is ever fed back.
    public var exchanges: [Exchange] {
        var out: [Exchange] = []
        for (index, message) in messages.enumerated() where message.role == .user && !message.status.isFailed {
            guard index + 1 < messages.count else { break }
            let reply = messages[index + 1]
            guard reply.role == .assistant, !reply.isStreaming, !reply.status.isFailed else { continue }
            out.append(Exchange(user: message, reply: reply))
        }
        return out
    }

    /// The last user message that was sent, with the reply that follows it (if any): what `/regen` and
    /// `/continue` act on. A refused message after it is skipped.
    public var lastSentExchange: (user: Message, reply: Message?)? {
        guard let index = messages.lastIndex(where: { $0.role == .user && !$0.status.isFailed }) else { return nil }
        let reply = index + 1 < messages.count && messages[index + 1].role == .assistant ? messages[index + 1] : nil
        return (messages[index], reply)
    }

    public var userMessageCount: Int { messages.filter { $0.role == .user }.count }

    /// Two conversations are equal when they say the same: roles, texts, how each message stopped and
    /// its badge (ids and revisions are the chat's own bookkeeping, given afresh when a file is opened).
    public static func == (a: Conversation, b: Conversation) -> Bool {
        a.messages.count == b.messages.count && zip(a.messages, b.messages).allSatisfy {
            $0.role == $1.role && $0.text == $1.text && $0.status == $1.status
                && $0.sentiment?.label == $1.sentiment?.label && $0.sentiment?.probability == $1.sentiment?.probability
        }
    }
}
