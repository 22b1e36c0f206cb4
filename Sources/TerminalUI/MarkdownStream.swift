/// Light markdown for replies, rendered as the reply streams: **bold**, `inline code`, `#` headings,
/// bullets and numbered items (with hanging indents), `>` quotes, `| a | b |` tables (laid out as aligned
/// columns by `TableLayout`) and fenced code blocks (kept verbatim and drawn as a highlighted block).
///
/// Incremental by construction: text arrives in token-sized pieces; every line that is complete (ends in
/// "\n") is parsed once and kept, and only the unfinished last line is parsed again on each redraw. The
/// fence state carries from line to line, so a code block opened earlier styles the lines that follow.
/// Anything markdown-like but unbalanced is shown as it is: the text is never lost or reordered.
import Foundation
public struct MarkdownStream {
    /// One source line, parsed.
    public struct Line: Equatable {
        public enum Kind: Equatable { case text, code, fence, tableRow, tableRule }
        public var kind: Kind
        public var runs: [StyledRun]
        /// A table row's cells (inline markdown parsed); empty for other kinds.
        public var cells: [[StyledRun]] = []
        /// Columns of hanging indent for continuation lines when wrapped (list items, quotes).
        public var hangingIndent: Int

        var isBlankText: Bool { kind == .text && runs.allSatisfy { $0.text.allSatisfy(\.isWhitespace) } }
        public var isTable: Bool { kind == .tableRow || kind == .tableRule }
    }

    public private(set) var completed: [Line] = []
    public private(set) var pending = ""
    private var inFence = false
    private var fenceMarker = ""

    public init() {}

    public init(_ text: String) {
        append(text)
    }

    public mutating func append(_ text: String) {
        pending += text
        while let newline = pending.firstIndex(of: "\n") {
            let line = String(pending[..<newline])
            pending = String(pending[pending.index(after: newline)...])
            let parsed = parse(line, updatingFence: true)
            // As in markdown, a run of blank lines is one paragraph break (and none opens a reply): a
            // model that emits dozens of newlines does not push the conversation off the screen.
            if parsed.isBlankText, completed.last?.isBlankText ?? true { continue }
            completed.append(parsed)
        }
    }

    /// Every line: the completed ones (parsed once) and the unfinished last one (parsed now).
    public var lines: [Line] {
        var copy = self
        return completed + [copy.parse(pending, updatingFence: false)]
    }

    /// The contents of fenced code blocks, in order (for `/copy code`).
    public static func codeBlocks(in text: String) -> [String] {
        var stream = MarkdownStream(text)
        stream.append("\n")
        var blocks: [String] = []
        var current: [String]?
        for line in stream.completed {
            switch line.kind {
            case .fence:
                if let block = current { blocks.append(block.joined(separator: "\n")); current = nil } else { current = [] }
            case .code: current?.append(line.runs.map(\.text).joined())
            case .text, .tableRow, .tableRule: break
            }
        }
        if let block = current, !block.isEmpty { blocks.append(block.joined(separator: "\n")) }
        return blocks
    }

    private mutating func parse(_ line: String, updatingFence: Bool) -> Line {
        let trimmed = line.drop { $0 == " " }
        let leading = line.count - trimmed.count
        if leading <= 3, trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
            let marker = String(trimmed.prefix(3))
            if !inFence || marker == fenceMarker {
                if updatingFence {
                    inFence.toggle()
                    fenceMarker = inFence ? marker : ""
                }
                return Line(kind: .fence, runs: [StyledRun(line, .dim)], hangingIndent: 0)
            }
        }
        if inFence { return Line(kind: .code, runs: [StyledRun(line, .codeBlock)], hangingIndent: 0) }
        if leading <= 3, let level = headingLevel(trimmed) {
            let text = trimmed.dropFirst(level).drop { $0 == " " }
            return Line(kind: .text, runs: [StyledRun(String(text), .heading)], hangingIndent: 0)
        }
        for bullet in ["- ", "* ", "+ "] where trimmed.hasPrefix(bullet) {
            let indent = String(repeating: " ", count: leading)
            return Line(kind: .text, runs: [StyledRun(indent + "• ", .dim)] + inline(String(trimmed.dropFirst(2))),
                        hangingIndent: leading + 2)
        }
        // Numbered items ("1. ", "12) ") hang their continuation lines under the text, like bullets.
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        if (1 ... 9).contains(digits.count), trimmed.dropFirst(digits.count).hasPrefix(". ") || trimmed.dropFirst(digits.count).hasPrefix(") ") {
            let marker = String(trimmed.prefix(digits.count + 2))
            let indent = String(repeating: " ", count: leading)
            return Line(kind: .text, runs: [StyledRun(indent + marker, .dim)] + inline(String(trimmed.dropFirst(marker.count))),
                        hangingIndent: leading + marker.count)
        }
        // GitHub tables: "| a | b |" rows and a "|---|:--:|" rule under the header.
        if trimmed.hasPrefix("|"), trimmed.dropFirst().contains("|") {
            var cells = trimmed.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            cells.removeFirst()
            if cells.last?.isEmpty == true { cells.removeLast() }
            let isRule = !cells.isEmpty && cells.allSatisfy { cell in
                !cell.isEmpty && cell.contains("-") && cell.allSatisfy { $0 == "-" || $0 == ":" }
            }
            return Line(kind: isRule ? .tableRule : .tableRow, runs: [StyledRun(line, .body)],
                        cells: isRule ? [] : cells.map { inline($0) }, hangingIndent: 0)
        }
        if trimmed.hasPrefix(">") {
            let text = trimmed.dropFirst().drop { $0 == " " }
            return Line(kind: .text, runs: [StyledRun("│ ", .dim)] + inline(String(text)).map { StyledRun($0.text, $0.style == .body ? .dim : $0.style) },
                        hangingIndent: 2)
        }
        return Line(kind: .text, runs: inline(line), hangingIndent: 0)
    }

    private func headingLevel(_ text: Substring) -> Int? {
        let hashes = text.prefix { $0 == "#" }.count
        guard (1 ... 6).contains(hashes) else { return nil }
        let rest = text.dropFirst(hashes)
        return rest.isEmpty || rest.first == " " ? hashes : nil
    }

    /// `**bold**` and `` `code` `` within one line. A marker without its closing partner is shown as text
    /// (on the unfinished line it turns into styling once the partner streams in).
    private func inline(_ text: String) -> [StyledRun] {
        var runs: [StyledRun] = []
        var current = ""
        var bold = false
        let chars = Array(text)
        var i = 0
        func flush(_ style: Transcript.Style) {
            if !current.isEmpty { runs.append(StyledRun(current, style)); current = "" }
        }
        while i < chars.count {
            if chars[i] == "`" {
                var ticks = 0
                while i + ticks < chars.count, chars[i + ticks] == "`" { ticks += 1 }
                let fence = String(repeating: "`", count: ticks)
                let after = String(chars[(i + ticks)...])
                if let close = after.range(of: fence) {
                    flush(bold ? .bold : .body)
                    runs.append(StyledRun(String(after[..<close.lowerBound]), .code))
                    i += ticks + after.distance(from: after.startIndex, to: close.upperBound)
                    continue
                }
                current += fence
                i += ticks
                continue
            }
            if chars[i] == "*", i + 1 < chars.count, chars[i + 1] == "*" {
                let rest = String(chars[(i + 2)...])
                if bold || rest.contains("**") {
                    flush(bold ? .bold : .body)
                    bold.toggle()
                    i += 2
                    continue
                }
            }
            current.append(chars[i])
            i += 1
        }
        flush(bold ? .bold : .body)
        return runs
    }
}
