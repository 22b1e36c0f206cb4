import CCurses
import Foundation
import Inference

/// The full-screen chat. Curses is called from this (the UI) thread only; inference runs on the
/// `Engine`'s thread and its events wake `poll()` through the engine's self-pipe.
public final class ChatApp {
    private let engine: Engine
    private var transcript = Transcript()
    private var editor = InputEditor()
    private var status = StatusLine()
    private var busy = false
    private var scrollOffset = 0
    private var lastInterrupt = 0.0
    private var running = true
    private let useColor: Bool

    public static let minimumSize = (columns: 40, rows: 8)

    public init(engine: Engine, banner: String?, useColor: Bool) {
        self.engine = engine
        self.useColor = useColor
        let loaded = engine.loaded
        status.model = loaded.model.config.name
        status.quant = loaded.weightTypeSummary
        status.contextSize = engine.session.cache.contextSize
        status.threads = loaded.pool.threadCount
        if let banner { transcript.append(.notice, banner) }
        transcript.append(.notice, "Enter sends · Ctrl-J newline · Esc cancels a reply · PgUp/PgDn scroll · /help · Ctrl-D quits")
    }

    /// Runs until the user quits; restores the terminal before returning.
    public func run() {
        setlocale(LC_ALL, "")
        initscr()
        raw()
        noecho()
        nonl()
        keypad(qw_stdscr(), true)
        nodelay(qw_stdscr(), true)
        set_escdelay(25)
        if useColor, has_colors() {
            start_color()
            use_default_colors()
            init_pair(1, Int16(COLOR_CYAN), -1)    // user header
            init_pair(2, Int16(COLOR_MAGENTA), -1) // assistant header
            init_pair(3, Int16(COLOR_GREEN), -1)   // positive
            init_pair(4, Int16(COLOR_RED), -1)     // negative
            init_pair(5, Int16(COLOR_YELLOW), -1)  // neutral / notices
        }
        defer { endwin() }
        draw()
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        var lastStats = 0.0
        while running {
            _ = poll(&fds, 2, 250)
            var changed = readKeys()
            for event in engine.drainEvents() {
                handle(event)
                changed = true
            }
            if monotonicSeconds() - lastStats > 1 {
                status.rssBytes = ProcessMemory.residentBytes
                status.peakRSSBytes = ProcessMemory.peakResidentBytes
                lastStats = monotonicSeconds()
                changed = true
            }
            if changed { draw() }
        }
        engine.shutdown()
    }

    // MARK: Events from the engine

    private func handle(_ event: Engine.Event) {
        switch event {
        case .sentiment(let index, let result):
            if let i = transcriptIndex(ofMessage: index) { transcript.setSentiment(result, at: i) }
        case .token(let text, let rate):
            transcript.appendToLast(text)
            status.liveDecode = rate
        case .replyDone(let stats):
            transcript.finishLast(cut: stats.stopReason == .cancelled || stats.stopReason == .maxTokens)
            if stats.stopReason == .contextFull {
                transcript.append(.notice, "The context is full: /clear starts a new conversation.")
            }
            status.last = stats
            busy = false
            status.busy = false
            status.contextUsed = engine.session.cache.count
        case .error(let message):
            transcript.finishLast(cut: true)
            transcript.append(.notice, "error: " + message)
            busy = false
            status.busy = false
        }
    }

    /// Transcript position of the engine's message number `n` (notices are interleaved in the transcript).
    private func transcriptIndex(ofMessage n: Int) -> Int? {
        transcript.entries.indices.filter { transcript.entries[$0].role != .notice }.dropFirst(n).first
    }

    // MARK: Keys

    private func readKeys() -> Bool {
        var changed = false
        var code: wint_t = 0
        while true {
            let kind = wget_wch(qw_stdscr(), &code)
            if kind == ERR { break }
            changed = true
            if kind == qw_key_code_yes() {
                handleKey(Int32(code))
            } else {
                handleCharacter(UInt32(code))
            }
        }
        return changed
    }

    private func handleKey(_ key: Int32) {
        switch key {
        case KEY_BACKSPACE: editor.backspace()
        case KEY_DC: editor.deleteForward()
        case KEY_LEFT: editor.moveLeft()
        case KEY_RIGHT: editor.moveRight()
        case KEY_HOME: editor.moveToLineStart()
        case KEY_END: editor.moveToLineEnd()
        case KEY_UP: editor.historyPrevious()
        case KEY_DOWN: editor.historyNext()
        case KEY_PPAGE: scrollOffset += max(1, transcriptHeight() - 2)
        case KEY_NPAGE: scrollOffset = max(0, scrollOffset - max(1, transcriptHeight() - 2))
        case KEY_ENTER: submit()
        case qw_key_resize(): break
        default: break
        }
    }

    private func handleCharacter(_ c: UInt32) {
        switch c {
        case 13: submit()                              // Enter
        case 10: editor.insert("\n")                   // Ctrl-J
        case 1: editor.moveToLineStart()               // Ctrl-A
        case 5: editor.moveToLineEnd()                 // Ctrl-E
        case 11: editor.killToLineEnd()                // Ctrl-K
        case 21: editor.killToLineStart()              // Ctrl-U
        case 23: editor.killWordBackward()             // Ctrl-W
        case 12: clearok(qw_stdscr(), true)            // Ctrl-L
        case 8, 127: editor.backspace()
        case 27:                                       // Esc
            if busy { engine.cancel() }
        case 3:                                        // Ctrl-C
            if busy {
                engine.cancel()
            } else if monotonicSeconds() - lastInterrupt < 2 {
                running = false
            } else {
                lastInterrupt = monotonicSeconds()
                transcript.append(.notice, "Press Ctrl-C again to quit.")
            }
        case 4:                                        // Ctrl-D
            if editor.isEmpty { running = false }
        default:
            if c >= 32, let scalar = Unicode.Scalar(c) { editor.insert(String(Character(scalar))) }
        }
    }

    private func submit() {
        guard let text = editor.submit() else { return }
        if text.hasPrefix("/") { return command(text) }
        if busy {
            transcript.append(.notice, "A reply is still running: Esc cancels it.")
            return
        }
        transcript.append(.user, text)
        transcript.append(.assistant, "", streaming: true)
        busy = true
        status.busy = true
        status.liveDecode = nil
        scrollOffset = 0
        engine.submit(text)
    }

    private func command(_ text: String) {
        switch text.split(separator: " ").first.map(String.init) ?? "" {
        case "/quit", "/exit": running = false
        case "/help":
            transcript.append(.notice, "Keys: Enter send · Ctrl-J newline · Up/Down history · Ctrl-A/E/K/U/W edit · Esc or Ctrl-C cancel a reply · PgUp/PgDn scroll · Ctrl-L redraw · Ctrl-D or /quit quit. Commands: /help /quit")
        default:
            transcript.append(.notice, "Unknown or not yet available command \(TerminalSanitizer.sanitize(text, keepNewlines: false)); /help lists what works.")
        }
    }

    // MARK: Drawing

    private func transcriptHeight() -> Int {
        Int(qw_lines()) - inputHeight() - 1
    }

    private func inputHeight() -> Int {
        min(5, max(1, editor.text.split(separator: "\n", omittingEmptySubsequences: false).count))
    }

    private func draw() {
        erase()
        let rows = Int(qw_lines()), cols = Int(qw_cols())
        guard cols >= Self.minimumSize.columns, rows >= Self.minimumSize.rows else {
            let message = "Terminal too small (\(cols)×\(rows)): enlarge it to at least \(Self.minimumSize.columns)×\(Self.minimumSize.rows)."
            mvaddstr(0, 0, String(message.prefix(max(1, cols * rows - 1))))
            refresh()
            return
        }
        let height = transcriptHeight()
        let lines = transcript.lines(width: cols - 1)
        scrollOffset = min(scrollOffset, max(0, lines.count - height))
        let end = lines.count - scrollOffset
        let start = max(0, end - height)
        for (row, line) in lines[start ..< end].enumerated() {
            var column = 0
            for run in line.runs {
                let text = clip(run.text, to: cols - 1 - column)
                guard !text.isEmpty else { break }
                let attribute = attribute(for: run.style)
                attron(attribute)
                mvaddstr(Int32(row), Int32(column), text)
                attroff(attribute)
                column += DisplayWidth.of(text)
            }
        }
        let statusRow = Int32(height)
        let reverse = Int32(qw_attr_reverse())
        attron(reverse)
        let statusText = (busy ? "● " : "  ") + status.render(width: cols - 3) + (scrollOffset > 0 ? " ↑\(scrollOffset)" : "")
        mvaddstr(statusRow, 0, clip(statusText, to: cols) + String(repeating: " ", count: max(0, cols - DisplayWidth.of(clip(statusText, to: cols)))))
        attroff(reverse)
        let inputLines = editor.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let (cursorLine, cursorColumn) = editor.cursorLineAndColumn
        let firstShown = max(0, cursorLine - inputHeight() + 1)
        for (i, text) in inputLines.enumerated() where i >= firstShown && i < firstShown + inputHeight() {
            let prefix = i == 0 ? "› " : "  "
            let visible = TerminalSanitizer.sanitize(text.replacingTabs(), keepNewlines: false)
            let shift = i == cursorLine ? max(0, cursorColumn - (cols - 4)) : 0
            mvaddstr(statusRow + 1 + Int32(i - firstShown), 0, prefix + clip(String(visible.dropFirst(shift)), to: cols - 3))
        }
        move(statusRow + 1 + Int32(cursorLine - firstShown), Int32(2 + min(cursorColumn, cols - 4)))
        refresh()
    }

    private func attribute(for style: Transcript.Style) -> Int32 {
        let bold = Int32(qw_attr_bold()), dim = Int32(qw_attr_dim())
        guard useColor, has_colors() else {
            switch style {
            case .userHeader, .assistantHeader: return bold
            case .dim, .notice: return dim
            default: return 0
            }
        }
        switch style {
        case .userHeader: return Int32(qw_color_pair(1)) | bold
        case .assistantHeader: return Int32(qw_color_pair(2)) | bold
        case .positive: return Int32(qw_color_pair(3))
        case .negative: return Int32(qw_color_pair(4))
        case .neutral, .notice: return Int32(qw_color_pair(5))
        case .dim: return dim
        case .body: return 0
        }
    }

    /// The longest prefix of `text` that fits in `width` columns.
    private func clip(_ text: String, to width: Int) -> String {
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
