/// A reply split into its reasoning and its answer as it streams, by Qwen3's template's own rule
/// (`ChatTemplate.splitReasoning`): the one place that decides what a reply says to the user. The screen
/// shows `reasoning` folded and `answer` as markdown, and the sentiment badge reads `answer`, so the two
/// can never judge different text.
///
/// While no `</think>` has arrived, a reply that opens with `<think>` is all reasoning (the answer is
/// empty), and the start of a reply that could still become `<think>` is held back. Once a `</think>`
/// arrives, the template's rule applies to the whole text: a later `</think>` moves the answer past it,
/// as the template would render the reply back to the model (`answerRevision` then changes, so a
/// screen that appends the answer's new text knows to start over).
///
/// Each piece is searched only with the few characters before it, so streaming a long reply costs time in
/// proportion to its length.
public struct ThinkingSplitter: Sendable, Equatable {
    /// False for templates without think blocks: everything is answer.
    public let recognisesThinking: Bool
    /// The reply as written.
    public private(set) var text = ""
    /// The think block's text (nil: the reply has none).
    public private(set) var reasoning: String?
    /// What the reply says to the user.
    public private(set) var answer = ""
    /// The think block has opened and not yet closed.
    public private(set) var isThinking = false
    /// Bumped whenever `answer` is replaced rather than extended.
    public private(set) var answerRevision = 0
    /// Whether more text may come: an undecided opening is held back only while it may.
    private var streaming = true
    /// A `</think>` has been seen: from then on the template's rule decides.
    private var closed = false
    /// The opening is known (a think block or not).
    private var decided = false
    /// The last characters of `text` that could begin a tag split across two pieces.
    private var tail = ""

    private static let open = "<think>", close = "</think>"

    public init(recognisesThinking: Bool) {
        self.recognisesThinking = recognisesThinking
    }

    /// The split of a whole reply (a saved one, or one whose streaming has ended).
    public init(recognisesThinking: Bool, text: String) {
        self.init(recognisesThinking: recognisesThinking)
        append(text)
        finish()
    }

    public mutating func append(_ piece: String) {
        guard !piece.isEmpty else { return }
        text += piece
        guard recognisesThinking else {
            answer += piece
            return
        }
        let window = tail + piece
        tail = String(window.suffix(Self.close.count - 1))
        if window.contains(Self.close) || !decided {
            return resplit()
        }
        if closed || !isThinking {
            extendAnswer(piece)
        } else {
            let current = reasoning ?? ""
            reasoning = current + (current.isEmpty ? String(piece.drop { $0 == "\n" }) : piece)
        }
    }

    /// No more text comes: an opening held back is decided.
    public mutating func finish() {
        streaming = false
        if recognisesThinking, !decided { resplit() }
    }

    /// Appends to the answer, dropping the newlines it would start with.
    private mutating func extendAnswer(_ piece: String) {
        answer += answer.isEmpty && closed ? String(piece.drop { $0 == "\n" }) : piece
    }

    /// Splits the whole text afresh (when a `</think>` arrives, and while the opening is undecided).
    private mutating func resplit() {
        let before = answer
        if let split = ChatTemplate.splitReasoning(text) {
            closed = true
            decided = true
            isThinking = false
            reasoning = split.reasoning
            answer = split.answer
        } else {
            let start = text.drop { $0 == "\n" }
            if start.hasPrefix(Self.open) {
                decided = true
                isThinking = true
                reasoning = String(start.dropFirst(Self.open.count).drop { $0 == "\n" })
                answer = ""
            } else if streaming, Self.open.hasPrefix(start) {
                decided = false  // "<thi" may still become "<think>": show nothing yet
                answer = ""
            } else {
                decided = true
                isThinking = false
                reasoning = nil
                answer = text
            }
        }
        if !answer.hasPrefix(before) { answerRevision += 1 }
    }
}
