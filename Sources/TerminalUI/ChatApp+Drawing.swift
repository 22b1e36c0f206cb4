import CCurses
import Chat
import Essentials
import Foundation

/// Painting the screen: transcript, stats pane, status line, input and the help overlay. Every curses
/// call here runs on the UI thread.
extension ChatApp {

    func transcriptHeight() -> Int {
        Int(qw_lines()) - inputHeight() - 1
    }

    func inputHeight() -> Int {
        min(5, max(1, editor.text.split(separator: "\n", omittingEmptySubsequences: false).count))
    }

    func draw() {
        erase()
        let rows = Int(qw_lines()), cols = Int(qw_cols())
        guard cols >= Self.minimumSize.columns, rows >= Self.minimumSize.rows else {
            let message = "Terminal too small (\(cols)×\(rows)): enlarge it to at least \(Self.minimumSize.columns)×\(Self.minimumSize.rows)."
            // Wrapped at word boundaries, as many lines as fit (the last column of the last row stays
            // free: writing there scrolls some terminals).
            for (row, line) in TextWrapper.wrap(message, width: max(1, cols - 1)).prefix(max(1, rows)).enumerated() {
                mvaddstr(Int32(row), 0, line)
            }
            refresh()
            return
        }
        let paneShown = showPane && cols >= Self.paneMinimumColumns
        let transcriptWidth = paneShown ? cols - Self.paneWidth - 1 : cols
        let height = transcriptHeight()
        let layout = transcript.layout(chat.conversation, width: transcriptWidth - 1)
        let range = viewport.visibleRange(lineCount: layout.lines.count, entryStarts: layout.itemStarts, height: height, width: transcriptWidth)
        for (row, line) in layout.lines[range].enumerated() {
            put(line, row: row, column: 0, width: transcriptWidth - 1)
        }
        if paneShown { drawPane(column: transcriptWidth + 1, height: height) }
        let statusRow = Int32(height)
        let attributes = palette?.statusAttributes ?? Int32(qw_attr_reverse())
        let marker = chat.isBusy ? "● " : "  "
        let scrolled = viewport.isFollowing ? "" : " ↑\(viewport.offsetFromBottom)"
        let summary = paneShown ? "F2 hides the stats · F1 help" : stats.statusLine(width: cols - 3 - DisplayWidth.of(scrolled))
        let statusText = clip(marker + summary + scrolled, to: cols)
        attron(attributes)
        mvaddstr(statusRow, 0, statusText + String(repeating: " ", count: max(0, cols - DisplayWidth.of(statusText))))
        attroff(attributes)
        drawInput(firstRow: statusRow + 1, cols: cols)
        if showHelp { drawHelp(rows: rows, cols: cols) }
        refresh()
    }

    func drawPane(column: Int, height: Int) {
        for row in 0 ..< height { mvaddstr(Int32(row), Int32(column - 1), "│") }
        for (row, line) in stats.paneLines(width: Self.paneWidth - 1).prefix(height).enumerated() {
            if row == 0, let palette {
                attron(palette.paneTitleAttributes)
                mvaddstr(Int32(row), Int32(column), line.text)
                attroff(palette.paneTitleAttributes)
            } else {
                put(line, row: row, column: column, width: Self.paneWidth - 1)
            }
        }
    }

    func drawInput(firstRow: Int32, cols: Int) {
        let inputLines = editor.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let (cursorLine, cursorColumn) = editor.cursorLineAndColumn
        let firstShown = max(0, cursorLine - inputHeight() + 1)
        for (i, text) in inputLines.enumerated() where i >= firstShown && i < firstShown + inputHeight() {
            let prefix = i == 0 ? "› " : "  "
            let visible = TerminalSanitizer.display(text, keepNewlines: false)
            let shift = i == cursorLine ? max(0, cursorColumn - (cols - 4)) : 0
            mvaddstr(firstRow + Int32(i - firstShown), 0, prefix + clip(String(visible.dropFirst(shift)), to: cols - 3))
        }
        move(firstRow + Int32(cursorLine - firstShown), Int32(2 + min(cursorColumn, cols - 4)))
    }

    func drawHelp(rows: Int, cols: Int) {
        var lines = ["qwentty help (any key closes it)", ""]
        lines += ChatApp.keyHelp.map { $0.key.padding(toLength: 27, withPad: " ", startingAt: 0) + $0.what }
        lines.append("")
        lines += SlashCommand.summary.map { $0.usage.padding(toLength: 27, withPad: " ", startingAt: 0) + $0.what }
        let width = min(cols - 2, (lines.map { DisplayWidth.of($0) }.max() ?? 0) + 4)
        let shown = lines.prefix(rows - 2)
        let top = max(0, (rows - shown.count - 2) / 2), left = max(0, (cols - width) / 2)
        let attributes = palette?.statusAttributes ?? Int32(qw_attr_reverse())
        attron(attributes)
        for row in 0 ..< shown.count + 2 {
            let text = row == 0 || row == shown.count + 1 ? "" : "  " + shown[shown.startIndex + row - 1]
            let clipped = clip(text, to: width)
            mvaddstr(Int32(top + row), Int32(left), clipped + String(repeating: " ", count: max(0, width - DisplayWidth.of(clipped))))
        }
        attroff(attributes)
    }

    /// Keys, for the help overlay (commands come from `SlashCommand.summary`).
    static let keyHelp: [(key: String, what: String)] = [
        ("Enter · Alt+Enter, Ctrl-J", "send · new line"), ("Up / Down", "history"),
        ("Ctrl-A/E/K/U/W", "line start/end, kill to end/start, kill word"),
        ("Esc, Ctrl-C", "cancel the reply"), ("Ctrl-D, Ctrl-C twice", "quit"),
        ("PgUp/PgDn, mouse wheel", "scroll"), ("F1 or ? · F2 · Ctrl-L", "help · stats pane · redraw"),
    ]

    /// Draws one styled line at (`row`, `column`), clipped to `width` columns.
    func put(_ line: Transcript.Line, row: Int, column: Int, width: Int) {
        var x = column
        for run in line.runs {
            let text = clip(run.text, to: column + width - x)
            guard !text.isEmpty else { break }
            let attributes = palette?.attributes(for: run.style) ?? 0
            attron(attributes)
            mvaddstr(Int32(row), Int32(x), text)
            attroff(attributes)
            x += DisplayWidth.of(text)
        }
        if let fill = line.fill, x < column + width {
            let attributes = palette?.attributes(for: fill) ?? 0
            attron(attributes)
            mvaddstr(Int32(row), Int32(x), String(repeating: " ", count: column + width - x))
            attroff(attributes)
        }
    }

    /// The longest prefix of `text` that fits in `width` columns.
    func clip(_ text: String, to width: Int) -> String {
        var out = ""
        var used = 0
        for c in text {
            let w = DisplayWidth.of(c)
            if used + w > width { break }
            out.append(c)
            used += w
        }
        return out
    }
}
