/// Word wrapping by display columns. Lines break at spaces where possible; a word longer than the
/// width is cut (CJK text, which has no spaces, breaks between characters); "\n" always breaks.
/// Styled text wraps the same way, so markdown keeps its bold and code spans across line breaks.
public enum TextWrapper {
    public static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let characters = units(paragraph)
            for range in lineRanges(characters, width: width) { lines.append(String(characters[range])) }
        }
        return lines
    }

    /// Wraps one line of styled runs (no "\n" inside). With `hard`, breaks fall wherever the width is
    /// reached (code: spaces are content). `indent` columns are reserved on continuation lines, which
    /// callers fill with a hanging indent (list items).
    public static func wrap(_ runs: [StyledRun], width: Int, hard: Bool = false, indent: Int = 0) -> [[StyledRun]] {
        var characters: [Character] = []
        var styles: [Transcript.Style] = []
        for run in runs {
            for c in units(run.text[...]) { characters.append(c); styles.append(run.style) }
        }
        let ranges = hard ? hardRanges(characters, width: width) : lineRanges(characters, width: width, continuationWidth: width - indent)
        return ranges.map { range in
            var out: [StyledRun] = []
            for i in range {
                if let last = out.last, last.style == styles[i] {
                    out[out.count - 1].text.append(characters[i])
                } else {
                    out.append(StyledRun(String(characters[i]), styles[i]))
                }
            }
            return out
        }
    }

    /// The pieces a line may break between: characters, except that a cluster wider than two columns
    /// (curses counts a family emoji's four people as eight) is split into its scalars, so no line is
    /// wider than the screen. Joined again, the pieces are the same text.
    static func units(_ text: Substring) -> [Character] {
        var out: [Character] = []
        for c in text {
            if DisplayWidth.of(c) > 2 {
                out.append(contentsOf: c.unicodeScalars.map(Character.init))
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Ranges of `characters` (one paragraph) that form the wrapped lines; the space a break replaces is
    /// dropped, and trailing spaces before a break are trimmed.
    static func lineRanges(_ characters: [Character], width: Int, continuationWidth: Int? = nil) -> [Range<Int>] {
        var width = max(1, width)
        var ranges: [Range<Int>] = []
        var start = 0, lineWidth = 0
        var afterLastSpace: Int?
        var i = 0
        func trimmedEnd(_ end: Int) -> Int {
            var e = end
            while e > start, characters[e - 1] == " " { e -= 1 }
            return e
        }
        while i < characters.count {
            let w = DisplayWidth.of(characters[i])
            if lineWidth + w > width, i > start {
                if characters[i] == " " {
                    ranges.append(start ..< trimmedEnd(i))
                    start = i + 1
                    width = max(1, continuationWidth ?? width)
                    lineWidth = 0
                    afterLastSpace = nil
                    i += 1
                    continue
                } else if let cut = afterLastSpace, cut > start {
                    ranges.append(start ..< trimmedEnd(cut))
                    start = cut
                } else {
                    ranges.append(start ..< i)
                    start = i
                }
                width = max(1, continuationWidth ?? width)
                lineWidth = characters[start ..< i].reduce(0) { $0 + DisplayWidth.of($1) }
                afterLastSpace = nil
            }
            lineWidth += w
            if characters[i] == " " { afterLastSpace = i + 1 }
            i += 1
        }
        ranges.append(start ..< characters.count)
        return ranges
    }

    /// Fixed-width chunks (for code, whose spaces are significant).
    static func hardRanges(_ characters: [Character], width: Int) -> [Range<Int>] {
        let width = max(2, width)
        var ranges: [Range<Int>] = []
        var start = 0, lineWidth = 0
        for (i, c) in characters.enumerated() {
            let w = DisplayWidth.of(c)
            if lineWidth + w > width, i > start {
                ranges.append(start ..< i)
                start = i
                lineWidth = 0
            }
            lineWidth += w
        }
        ranges.append(start ..< characters.count)
        return ranges
    }
}

/// A piece of text drawn in one style.
public struct StyledRun: Equatable {
    public var text: String
    public var style: Transcript.Style
    public init(_ text: String, _ style: Transcript.Style) {
        self.text = text
        self.style = style
    }
}
