import Inference

/// The conversation: what was said (the one record of it, which sessions save and the engine rebuilds
/// from) and its layout into screen lines. Pure logic. Entries keep the text as written (a pasted tab, a
/// reply's control character); what the screen draws is sanitised here, once, so nothing from the model or
/// a paste can reach the terminal as a control sequence.
public struct Transcript {
    public enum Role: String, Equatable, Codable { case user, assistant, notice }

    public struct Entry {
        /// Stable across removals, so late events (a reply's sentiment) find their message.
        public internal(set) var id = 0
        public var role: Role
        /// As written: the record that is saved, exported, copied and given back to the model.
        public internal(set) var text: String
        /// As drawn: `text` sanitised for the terminal.
        var shown: String
        public var sentiment: SentimentClassifier.Result?
        public var streaming = false
        public var cut = false
        /// The reply stopped at the reply-token limit (`-n`, `max_tokens`): shown apart from a cut.
        public var hitLimit = false
        /// Replies are markdown, parsed as they stream (user text is shown verbatim). A Qwen3 reply's
        /// think block is kept apart, in `reasoning`: only the answer is markdown.
        var markdown: MarkdownStream?
        /// The reasoning of a reply that opened with `<think>` (sanitised), shown folded and dimmed.
        var reasoning: Reasoning?
        /// The start of a reply until it is known whether it opens a think block (nil once known).
        var undecided: String? = ""
        /// Bumped on every change, so cached layout knows when it is stale.
        var version = 0
    }

    /// A reply's think block as it streams: open until `</think>` arrives.
    struct Reasoning {
        var text = ""
        var open = true
        /// The last characters of `text` that could begin `</think>` (at most 7): with the new text, all
        /// that is searched for the tag, since the reasoning grows a token at a time.
        var tail = ""
        var words: Int { text.split(whereSeparator: \.isWhitespace).count }
    }

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

    public private(set) var entries: [Entry] = []
    private var nextID = 1
    /// Badges show the classifier's latency too (on demand: with the stats pane / F2).
    public var showsLatency = false {
        didSet { if showsLatency != oldValue { layoutCache.removeAll() } }
    }
    /// Laid-out lines per entry, keyed by (width, version): a redraw while a reply streams re-wraps only
    /// the entry that changed, not the whole conversation.
    private var layoutCache: [Int: (width: Int, version: Int, lines: [Line])] = [:]
    /// The streaming reply's completed markdown lines, already wrapped (width, count, lines): each
    /// redraw wraps only lines completed since the last one, plus the unfinished last line.
    private var streamCache: (entry: Int, width: Int, count: Int, lines: [Line]) = (-1, 0, 0, [])

    /// Replies' reasoning unfolded (`/think show`), dimmed; folded to one line otherwise.
    public var showsReasoning = false {
        didSet { if showsReasoning != oldValue { layoutCache.removeAll() } }
    }

    public init() {}

    /// Appends an entry and returns its id (stable: later events find the entry by it).
    @discardableResult
    public mutating func append(_ role: Role, _ text: String, streaming: Bool = false) -> Int {
        var entry = Entry(role: role, text: text, shown: Self.clean(text), streaming: streaming)
        if role == .assistant {
            entry.markdown = MarkdownStream("")
            Self.route(entry.shown, into: &entry)
        }
        entry.id = nextID
        nextID += 1
        entries.append(entry)
        return entry.id
    }

    /// Appends streamed text to the entry `id` (a reply keeps streaming into its own entry, whatever
    /// notices were added below it meanwhile).
    public mutating func appendText(_ text: String, toEntry id: Int) {
        guard let index = index(ofID: id) else { return }
        let cleaned = Self.clean(text)
        entries[index].text += text
        entries[index].shown += cleaned
        if entries[index].role == .assistant { Self.route(cleaned, into: &entries[index]) }
        entries[index].version += 1
    }

    /// Sends a reply's new text to its think block or to its markdown answer. A reply that starts with
    /// `<think>` (Qwen3's reasoning; the tag is one token, so it arrives whole) is reasoning until
    /// `</think>`; the answer after it starts at its first line that is not blank, as Qwen3's template
    /// reads it.
    private static func route(_ text: String, into entry: inout Entry) {
        var text = text
        if let held = entry.undecided {
            let start = (held + text).drop { $0 == "\n" }
            if "<think>".hasPrefix(start), entry.streaming {  // not known yet: hold it back
                entry.undecided = held + text
                return
            }
            entry.undecided = nil
            if start.hasPrefix("<think>") {
                entry.reasoning = Reasoning()
                text = String(start.dropFirst("<think>".count))
            } else {
                text = String(start)
            }
        }
        if var reasoning = entry.reasoning, reasoning.open {
            let window = reasoning.tail + text
            guard let end = window.range(of: "</think>") else {
                reasoning.text += text
                reasoning.tail = String(window.suffix(7))
                entry.reasoning = reasoning
                return
            }
            text = String(window[end.upperBound...].drop { $0 == "\n" })
            reasoning.text = String(reasoning.text.dropLast(reasoning.tail.count) + window[..<end.lowerBound])
                .trimmingCharacters(in: .newlines)
            reasoning.open = false
            entry.reasoning = reasoning
        }
        entry.markdown?.append(text)
    }

    public mutating func finish(entry id: Int, cut: Bool, hitLimit: Bool = false) {
        guard let index = index(ofID: id) else { return }
        entries[index].streaming = false
        entries[index].cut = cut
        entries[index].hitLimit = hitLimit
        if entries[index].undecided != nil { Self.route("", into: &entries[index]) }  // what was held back
        entries[index].version += 1
    }

    /// Streams into a finished reply again (/continue): its stop mark and its badge go until it ends anew.
    public mutating func reopen(entry id: Int) {
        guard let index = index(ofID: id) else { return }
        entries[index].streaming = true
        entries[index].cut = false
        entries[index].hitLimit = false
        entries[index].sentiment = nil
        entries[index].version += 1
    }

    public mutating func setSentiment(_ result: SentimentClassifier.Result, entry id: Int) {
        guard let index = index(ofID: id) else { return }
        entries[index].sentiment = result
        entries[index].version += 1
    }

    public func index(ofID id: Int?) -> Int? {
        id.flatMap { id in entries.firstIndex { $0.id == id } }
    }

    /// The last entry with `role`, if any.
    public func lastIndex(of role: Role) -> Int? {
        entries.lastIndex { $0.role == role }
    }

    /// Drops the entries at `indices` (/edit and /regen take back the last exchange; notices stay).
    public mutating func removeEntries(at indices: [Int]) {
        let valid = Set(indices.filter { entries.indices.contains($0) })
        guard let first = valid.min() else { return }
        entries = entries.enumerated().filter { !valid.contains($0.offset) }.map(\.element)
        layoutCache = layoutCache.filter { $0.key < first }
        if streamCache.entry >= first { streamCache = (-1, 0, 0, []) }
    }

    public mutating func removeAll() {
        entries.removeAll()
        layoutCache.removeAll()
        streamCache = (-1, 0, 0, [])
    }

    /// Control characters become visible symbols; tabs become spaces.
    static func clean(_ text: String) -> String {
        TerminalSanitizer.sanitize(text.replacingTabs(), keepNewlines: true)
    }

    /// Screen lines for a transcript `width` columns wide: a header per message (who, sentiment badge),
    /// the text wrapped and indented by two columns, a blank line between messages. Entries unchanged
    /// since the last call at this width come from the cache. `entryStarts[i]` is entry i's first line.
    public mutating func layout(width: Int) -> (lines: [Line], entryStarts: [Int]) {
        var out: [Line] = []
        var starts: [Int] = []
        for (index, entry) in entries.enumerated() {
            if !out.isEmpty { out.append(Line(runs: [])) }
            starts.append(out.count)
            if let cached = layoutCache[index], cached.width == width, cached.version == entry.version {
                out += cached.lines
                continue
            }
            let laidOut = layout(entry, at: index, width: width)
            layoutCache[index] = (width, entry.version, laidOut)
            out += laidOut
        }
        return (out, starts)
    }

    public mutating func lines(width: Int) -> [Line] {
        layout(width: width).lines
    }

    private mutating func layout(_ entry: Entry, at index: Int, width: Int) -> [Line] {
        var out: [Line] = []
        switch entry.role {
        case .notice:
            for l in TextWrapper.wrap(entry.shown, width: width) { out.append(Line(runs: [StyledRun(l, .notice)])) }
            return out
        case .user:
            out.append(Line(runs: [StyledRun("you", .userHeader)] + badge(entry)))
            for l in TextWrapper.wrap(entry.shown, width: max(1, width - 2)) {
                out.append(Line(runs: [StyledRun("  " + l, .body)]))
            }
        case .assistant:
            var runs = [StyledRun("qwen", .assistantHeader)]
            if entry.streaming { runs.append(StyledRun(" …", .dim)) }
            if entry.cut { runs.append(StyledRun(" (cut)", .dim)) }
            if entry.hitLimit { runs.append(StyledRun(" (token limit)", .dim)) }
            out.append(Line(runs: runs + badge(entry)))
            if let reasoning = entry.reasoning { out += reasoningLines(reasoning, width: width) }
            out += markdownLines(entry.markdown ?? MarkdownStream(entry.shown), entry: index, width: width)
        }
        return out
    }

    /// A think block: one dim line when folded ("▸ thinking… 42 words" while it streams), or the whole
    /// reasoning dimmed under a "▾" line when `showsReasoning`.
    private func reasoningLines(_ reasoning: Reasoning, width: Int) -> [Line] {
        let words = reasoning.words
        let count = "\(words) word\(words == 1 ? "" : "s")"
        guard showsReasoning else {
            let what = reasoning.open ? "▸ thinking… \(count)" : "▸ thought: \(count) (/think show unfolds)"
            return [Line(runs: [StyledRun("  " + what, .dim)])]
        }
        var out = [Line(runs: [StyledRun("  ▾ " + (reasoning.open ? "thinking… " : "thought: ") + count, .dim)])]
        for l in TextWrapper.wrap(reasoning.text, width: max(1, width - 4)) { out.append(Line(runs: [StyledRun("    " + l, .dim)])) }
        return out
    }

    private mutating func markdownLines(_ markdown: MarkdownStream, entry: Int, width: Int) -> [Line] {
        if streamCache.entry != entry || streamCache.width != width || streamCache.count > markdown.completed.count {
            streamCache = (entry, width, 0, [])
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

    private func badge(_ entry: Entry) -> [StyledRun] {
        guard let s = entry.sentiment else { return [] }
        let style: Style
        switch s.label.lowercased() {
        case "positive": style = .positive
        case "negative": style = .negative
        default: style = .neutral
        }
        var runs = [StyledRun("  ", .body), StyledRun("[\(s.label) \(Int((s.probability * 100).rounded()))%]", style)]
        // A badge restored from a saved session has no latency (0): none is shown rather than "0 ms".
        if showsLatency, s.latencySeconds > 0 { runs.append(StyledRun(" " + String(Int((s.latencySeconds * 1000).rounded())) + " ms", .dim)) }
        return runs
    }
}

extension String {
    func replacingTabs() -> String {
        contains("\t") ? String(map { $0 == "\t" ? " " : $0 }) : self
    }
}
