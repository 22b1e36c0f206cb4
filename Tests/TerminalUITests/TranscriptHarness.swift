@testable import Chat
@testable import TerminalUI

/// A conversation and the transcript that draws it, for layout tests: messages go into the record as the
/// chat controller writes them (through `Conversation`'s own mutations), notices into the transcript.
struct TranscriptHarness {
    var conversation: Conversation
    var transcript = Transcript()

    init(recognisesThinking: Bool = true) {
        conversation = Conversation(recognisesThinking: recognisesThinking)
    }

    @discardableResult
    mutating func user(_ text: String) -> Message.ID {
        conversation.append(.user, text, status: .complete)
    }

    /// A reply: finished with `text`, or streaming (then fed with `stream` and ended with `finish`).
    @discardableResult
    mutating func reply(_ text: String = "", streaming: Bool = false) -> Message.ID {
        conversation.append(.assistant, text, status: streaming ? .streaming : .complete)
    }

    mutating func stream(_ text: String, into id: Message.ID) {
        conversation.update(id) { $0.append(text) }
    }

    mutating func finish(_ id: Message.ID, _ status: Message.Status = .complete) {
        conversation.update(id) { $0.set(status: status) }
    }

    mutating func badge(_ id: Message.ID, _ label: String, _ probability: Float, latency: Double = 0) {
        conversation.update(id) { $0.set(sentiment: Message.Sentiment(label: label, probability: probability, latencySeconds: latency)) }
    }

    @discardableResult
    mutating func notice(_ text: String) -> Int {
        transcript.sync(with: conversation)
        return transcript.appendNotice(text)
    }

    mutating func remove(_ ids: Set<Message.ID>) {
        conversation.remove(ids)
    }

    mutating func lines(width: Int) -> [Transcript.Line] {
        transcript.lines(conversation, width: width)
    }

    subscript(id: Message.ID) -> Message? { conversation[id] }
}
