import Inference

/// The conversation as shown: entries and their layout into screen lines. Pure logic; untrusted text is
/// sanitised here, once, so nothing from the model or a paste can reach the terminal as a control sequence.
public struct Transcript {
    public enum Role: Equatable { case user, assistant, notice }

    public struct Entry {
        public var role: Role
        public var text: String
        public var sentiment: SentimentClassifier.Result?
        public var streaming = false
        public var cut = false
        /// Bumped on every change, so cached layout knows when it is stale.
        var version = 0
    }

    public enum Style: Equatable { case userHeader, assistantHeader, body, notice, positive, negative, neutral, dim }

    /// One screen line: styled runs from left to right.
    public struct Line: Equatable {
        public var runs: [(text: String, style: Style)]
        public static func == (a: Line, b: Line) -> Bool {
            a.runs.map(\.text) == b.runs.map(\.text) && a.runs.map(\.style) == b.runs.map(\.style)
        }
    }

    public private(set) var entries: [Entry] = []
    /// Laid-out lines per entry, keyed by (width, version): a redraw while a reply streams re-wraps only
    /// the entry that changed, not the whole conversation.
    private var layoutCache: [Int: (width: Int, version: Int, lines: [Line])] = [:]

    public init() {}

    public mutating func append(_ role: Role, _ text: String, streaming: Bool = false) {
        entries.append(Entry(role: role, text: Self.clean(text), streaming: streaming))
    }

    /// Appends streamed text to the last entry.
    public mutating func appendToLast(_ text: String) {
        guard !entries.isEmpty else { return }
        entries[entries.count - 1].text += Self.clean(text)
        entries[entries.count - 1].version += 1
    }

    public mutating func finishLast(cut: Bool) {
        guard !entries.isEmpty else { return }
        entries[entries.count - 1].streaming = false
        entries[entries.count - 1].cut = cut
        entries[entries.count - 1].version += 1
    }

    public mutating func setSentiment(_ result: SentimentClassifier.Result, at index: Int) {
        guard entries.indices.contains(index) else { return }
        entries[index].sentiment = result
        entries[index].version += 1
    }

    public mutating func removeAll() {
        entries.removeAll()
        layoutCache.removeAll()
    }

    /// Control characters become visible symbols; tabs become spaces.
    static func clean(_ text: String) -> String {
        TerminalSanitizer.sanitize(text.replacingTabs(), keepNewlines: true)
    }

    /// Screen lines for a transcript `width` columns wide: a header per message (who, sentiment badge),
    /// the text wrapped and indented by two columns, a blank line between messages. Entries unchanged
    /// since the last call at this width come from the cache.
    public mutating func lines(width: Int) -> [Line] {
        var out: [Line] = []
        for (index, entry) in entries.enumerated() {
            if !out.isEmpty { out.append(Line(runs: [])) }
            if let cached = layoutCache[index], cached.width == width, cached.version == entry.version {
                out += cached.lines
                continue
            }
            let laidOut = layout(entry, width: width)
            layoutCache[index] = (width, entry.version, laidOut)
            out += laidOut
        }
        return out
    }

    private func layout(_ entry: Entry, width: Int) -> [Line] {
        var out: [Line] = []
        switch entry.role {
        case .notice:
            for l in TextWrapper.wrap(entry.text, width: width) { out.append(Line(runs: [(l, .notice)])) }
            return out
        case .user:
            out.append(Line(runs: [("you", .userHeader)] + badge(entry)))
        case .assistant:
            var runs: [(String, Style)] = [("qwen", .assistantHeader)]
            if entry.streaming { runs.append((" …", .dim)) }
            if entry.cut { runs.append((" (cut)", .dim)) }
            out.append(Line(runs: runs + badge(entry)))
        }
        for l in TextWrapper.wrap(entry.text, width: max(1, width - 2)) {
            out.append(Line(runs: [("  " + l, .body)]))
        }
        return out
    }

    private func badge(_ entry: Entry) -> [(String, Style)] {
        guard let s = entry.sentiment else { return [] }
        let style: Style
        switch s.label.lowercased() {
        case "positive": style = .positive
        case "negative": style = .negative
        default: style = .neutral
        }
        return [("  ", .body), ("[\(s.label) \(Int((s.probability * 100).rounded()))%]", style),
                (" " + String(Int((s.latencySeconds * 1000).rounded())) + " ms", .dim)]
    }
}

extension String {
    func replacingTabs() -> String {
        contains("\t") ? String(map { $0 == "\t" ? " " : $0 }) : self
    }
}
