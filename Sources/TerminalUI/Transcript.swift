import Chat
import Essentials
import Inference

/// The conversation as screen lines: the messages of a `Conversation` (the record, owned by the
/// `ChatController`) with the screen's own notices between them. This type keeps only what drawing
/// needs, keyed by message id: each message's sanitised text and markdown, and wrapped lines cached by
/// (width, revision). Everything drawn is sanitised here, once, so nothing from the model, a paste or a
/// saved file can reach the terminal as a control sequence.
public struct Transcript {
    public enum Style: Equatable {
        case userHeader, assistantHeader, body, notice, positive, negative, neutral, dim
        case bold, heading, code, codeBlock, sparkline
    }

    /// One screen line: styled runs from left to right. `fill` lines (code blocks) are painted to the
    /// right edge in their style, so a block reads as a block.
    public struct Line: Equatable {
        public var runs: [StyledRun]
        public var fill: Style?
        public init(runs: [StyledRun], fill: Style? = nil) {
            self.runs = runs
            self.fill = fill
        }

        public var text: String { runs.map(\.text).joined() }
    }

    /// What is shown, in order: messages (by id) and notices.
    public enum Item: Hashable {
        case message(Message.ID)
        case notice(Int)
    }

    public private(set) var items: [Item] = []
    /// Screen-only lines (sanitised), by id.
    private var notices: [Int: (shown: String, version: Int)] = [:]
    private var nextNotice = 1
    private var placed: Set<Message.ID> = []
    /// A reply's answer as markdown, fed as it streams: how much of the answer (UTF-8 bytes) is in
    /// `markdown`, and the answer's revision it was fed from (another one means start over).
    private struct Rendering {
        var answerRevision: Int
        var fed = 0
        var markdown = MarkdownStream()
        /// The answer's first line that is not blank has been fed (leading newlines are not drawn).
        var started = false
    }
    private var renderings: [Message.ID: Rendering] = [:]
    /// Laid-out lines per item, keyed by (width, version): a redraw while a reply streams re-wraps only
    /// the message that changed, not the whole conversation.
    private var layoutCache: [Item: (width: Int, version: Int, lines: [Line])] = [:]
    /// The streaming reply's completed markdown lines, already wrapped (width, count, lines): each
    /// redraw wraps only lines completed since the last one, plus the unfinished last line.
    private var streamCache: (message: Message.ID?, width: Int, count: Int, lines: [Line]) = (nil, 0, 0, [])

    /// Badges show the classifier's latency too (on demand: with the stats pane / F2).
    public var showsLatency = false {
        didSet { if showsLatency != oldValue { layoutCache.removeAll() } }
    }

    /// Replies' reasoning unfolded (`/think show`), dimmed; folded to one line otherwise.
    public var showsReasoning = false {
        didSet { if showsReasoning != oldValue { layoutCache.removeAll() } }
    }

    public init() {}

    /// Adds a notice below everything shown so far and returns its id.
    @discardableResult
    public mutating func appendNotice(_ text: String) -> Int {
        let id = nextNotice
        nextNotice += 1
        notices[id] = (Self.clean(text), 0)
        items.append(.notice(id))
        return id
    }

    /// Adds to a notice already shown (a trim's time, once its prefill is done).
    public mutating func appendText(_ text: String, toNotice id: Int) {
        guard let notice = notices[id] else { return }
        notices[id] = (notice.shown + Self.clean(text), notice.version + 1)
    }

    /// The text of a notice, as shown.
    public func notice(_ id: Int) -> String? {
        notices[id]?.shown
    }

    /// Forgets everything shown (another conversation takes this one's place).
    public mutating func removeAll() {
        items.removeAll()
        notices.removeAll()
        placed.removeAll()
        renderings.removeAll()
        layoutCache.removeAll()
        streamCache = (nil, 0, 0, [])
    }

    /// Places messages new to the conversation below what is shown (in the conversation's order) and
    /// forgets the ones it no longer has.
    public mutating func sync(with conversation: Conversation) {
        let present = Set(conversation.messages.map(\.id))
        if placed.contains(where: { !present.contains($0) }) {
            items.removeAll { if case .message(let id) = $0 { return !present.contains(id) } else { return false } }
            placed.formIntersection(present)
            for id in renderings.keys where !present.contains(id) { renderings[id] = nil }
            for item in layoutCache.keys where !items.contains(item) { layoutCache[item] = nil }
            if let streaming = streamCache.message, !present.contains(streaming) { streamCache = (nil, 0, 0, []) }
        }
        for message in conversation.messages where !placed.contains(message.id) {
            placed.insert(message.id)
            items.append(.message(message.id))
        }
    }

    /// Control characters become visible symbols; tabs become spaces.
    static func clean(_ text: String) -> String {
        TerminalSanitizer.display(text, keepNewlines: true)
    }

    /// Screen lines for a transcript `width` columns wide: a header per message (who, how it stopped, the
    /// sentiment badge), the text wrapped and indented by two columns, a blank line between items. Items
    /// unchanged since the last call at this width come from the cache. `itemStarts[i]` is item i's first
    /// line.
    public mutating func layout(_ conversation: Conversation, width: Int) -> (lines: [Line], itemStarts: [Int]) {
        sync(with: conversation)
        var byID: [Message.ID: Message] = [:]
        for message in conversation.messages { byID[message.id] = message }
        var out: [Line] = []
        var starts: [Int] = []
        for item in items {
            if !out.isEmpty { out.append(Line(runs: [])) }
            starts.append(out.count)
            let version: Int
            switch item {
            case .notice(let id): version = notices[id]?.version ?? 0
            case .message(let id): version = byID[id]?.revision ?? 0
            }
            if let cached = layoutCache[item], cached.width == width, cached.version == version {
                out += cached.lines
                continue
            }
            let laidOut: [Line]
            switch item {
            case .notice(let id):
                laidOut = TextWrapper.wrap(notices[id]?.shown ?? "", width: width).map { Line(runs: [StyledRun($0, .notice)]) }
            case .message(let id):
                guard let message = byID[id] else { continue }
                laidOut = layout(message, width: width)
            }
            layoutCache[item] = (width, version, laidOut)
            out += laidOut
        }
        return (out, starts)
    }

    public mutating func lines(_ conversation: Conversation, width: Int) -> [Line] {
        layout(conversation, width: width).lines
    }

    private mutating func layout(_ message: Message, width: Int) -> [Line] {
        var out: [Line] = []
        switch message.role {
        case .user:
            var runs = [StyledRun("you", .userHeader)]
            if message.status.isFailed { runs.append(StyledRun(" (not sent)", .dim)) }
            out.append(Line(runs: runs + badge(message)))
            for l in TextWrapper.wrap(Self.clean(message.text), width: max(1, width - 2)) {
                out.append(Line(runs: [StyledRun("  " + l, .body)]))
            }
        case .assistant:
            var runs = [StyledRun("qwen", .assistantHeader)]
            switch message.status {
            case .streaming: runs.append(StyledRun(" …", .dim))
            case .cut: runs.append(StyledRun(" (cut)", .dim))
            case .tokenLimit: runs.append(StyledRun(" (token limit)", .dim))
            case .failed: runs.append(StyledRun(" (failed)", .dim))
            case .complete, .contextFull: break
            }
            out.append(Line(runs: runs + badge(message)))
            if let reasoning = message.reasoning {
                out += reasoningLines(Self.clean(reasoning), open: message.parts.isThinking, width: width)
            }
            out += markdownLines(render(message), message: message.id, width: width)
        }
        return out
    }

    /// The reply's answer as markdown, fed only what it gained since the last call.
    private mutating func render(_ message: Message) -> MarkdownStream {
        let answer = message.answer
        var rendering = renderings[message.id] ?? Rendering(answerRevision: message.answerRevision)
        if rendering.answerRevision != message.answerRevision || answer.utf8.count < rendering.fed {
            rendering = Rendering(answerRevision: message.answerRevision)
        }
        if answer.utf8.count > rendering.fed {
            let utf8 = answer.utf8
            var piece = Substring(String(decoding: utf8.dropFirst(rendering.fed), as: UTF8.self))
            rendering.fed = utf8.count
            if !rendering.started {
                piece = piece.drop { $0 == "\n" }
                rendering.started = !piece.isEmpty
            }
            rendering.markdown.append(Self.clean(String(piece)))
        }
        renderings[message.id] = rendering
        return rendering.markdown
    }

    /// A think block: one dim line when folded ("▸ thinking… 42 words" while it streams), or the whole
    /// reasoning dimmed under a "▾" line when `showsReasoning`.
    private func reasoningLines(_ reasoning: String, open: Bool, width: Int) -> [Line] {
        let words = reasoning.split(whereSeparator: \.isWhitespace).count
        let count = "\(words) word\(words == 1 ? "" : "s")"
        guard showsReasoning else {
            let what = open ? "▸ thinking… \(count)" : "▸ thought: \(count) (/think show unfolds)"
            return [Line(runs: [StyledRun("  " + what, .dim)])]
        }
        var out = [Line(runs: [StyledRun("  ▾ " + (open ? "thinking… " : "thought: ") + count, .dim)])]
        for l in TextWrapper.wrap(reasoning, width: max(1, width - 4)) { out.append(Line(runs: [StyledRun("    " + l, .dim)])) }
        return out
    }

    private mutating func markdownLines(_ markdown: MarkdownStream, message: Message.ID, width: Int) -> [Line] {
        if streamCache.message != message || streamCache.width != width || streamCache.count > markdown.completed.count {
            streamCache = (message, width, 0, [])
        }
        // A table's columns depend on all its rows: rows at the end may still be joined by more, so they
        // are laid out afresh on each redraw and cached only once a line after the table completes.
        var closed = markdown.completed.count
        while closed > streamCache.count, markdown.completed[closed - 1].isTable { closed -= 1 }
        streamCache.lines += Self.wrap(Array(markdown.completed[streamCache.count ..< closed]), width: width)
        streamCache.count = closed
        var open = Array(markdown.completed[closed...])
        if !markdown.pending.isEmpty || markdown.completed.isEmpty, let last = markdown.lines.last { open.append(last) }
        return streamCache.lines + Self.wrap(open, width: width)
    }

    private func badge(_ message: Message) -> [StyledRun] {
        guard let s = message.sentiment else { return [] }
        let style: Style
        switch s.label.lowercased() {
        case "positive": style = .positive
        case "negative": style = .negative
        default: style = .neutral
        }
        // A label from a saved file is input: drawn sanitised, and a probability out of range as what it
        // can be.
        let percent = s.probability.isFinite ? Int((min(1, max(0, s.probability)) * 100).rounded()) : 0
        var runs = [StyledRun("  ", .body), StyledRun("[\(TerminalSanitizer.display(s.label, keepNewlines: false)) \(percent)%]", style)]
        // A badge restored from a saved session has no latency (0): none is shown rather than "0 ms".
        if showsLatency, s.latencySeconds > 0 { runs.append(StyledRun(" " + String(Int((s.latencySeconds * 1000).rounded())) + " ms", .dim)) }
        return runs
    }

    /// Markdown lines wrapped to the transcript; consecutive table lines are laid out together.
    static func wrap(_ lines: [MarkdownStream.Line], width: Int) -> [Line] {
        var out: [Line] = []
        var table: [MarkdownStream.Line] = []
        for line in lines {
            if line.isTable {
                table.append(line)
                continue
            }
            if !table.isEmpty {
                out += TableLayout.lines(table, width: max(1, width - 2)).map { Line(runs: [StyledRun("  ", .body)] + $0) }
                table = []
            }
            out += wrap(line, width: width)
        }
        if !table.isEmpty { out += TableLayout.lines(table, width: max(1, width - 2)).map { Line(runs: [StyledRun("  ", .body)] + $0) } }
        return out
    }

    /// One markdown line wrapped to the transcript (two columns of indent, code blocks filled).
    static func wrap(_ line: MarkdownStream.Line, width: Int) -> [Line] {
        let inner = max(1, width - 2)
        switch line.kind {
        case .code:
            return TextWrapper.wrap(line.runs, width: inner, hard: true).map {
                Line(runs: [StyledRun("  ", .body)] + $0, fill: .codeBlock)
            }
        case .tableRow, .tableRule:
            return TableLayout.lines([line], width: inner).map { Line(runs: [StyledRun("  ", .body)] + $0) }
        case .fence, .text:
            let pieces = TextWrapper.wrap(line.runs, width: inner, indent: line.hangingIndent)
            return pieces.enumerated().map { i, runs in
                let indent = "  " + (i == 0 ? "" : String(repeating: " ", count: line.hangingIndent))
                return Line(runs: [StyledRun(indent, .body)] + runs)
            }
        }
    }

}
