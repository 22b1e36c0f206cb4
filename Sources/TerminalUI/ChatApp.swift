import CCurses
import Foundation
import Inference
import Tokenizer

/// Set by the SIGTERM/SIGHUP handler (a plain global: the only thing a signal handler may touch).
nonisolated(unsafe) private var chatTerminationSignal: Int32 = 0

/// The full-screen chat. Curses is called from this (the UI) thread only; inference runs on the
/// `Engine`'s thread and its events wake `poll()` through the engine's self-pipe. Everything with logic
/// in it (layout, markdown, input editing, commands, themes, stats) lives in plain types; this class
/// wires them to keys and to the screen.
public final class ChatApp {
    public struct Options {
        public var banner: String?
        public var modelPath = ""
        public var theme = Theme.builtInDefault
        public var themes = ThemeLibrary(directories: [])
        public var noColor = false
        public var mouse = true
        public var statsPane = true
        public var sessions: SessionStore?
        /// A conversation to continue (`chat --resume`) and the file it came from.
        public var resume: (chat: SavedChat, path: String)?
        /// Shown in the transcript at start (config problems, a bad theme).
        public var notices: [String] = []
        public init() {}
    }

    private let engine: Engine
    private var options: Options
    private var transcript = Transcript()
    private var viewport = TranscriptViewport()
    private var editor = InputEditor()
    private var stats = ChatStats()
    private var palette: CursesPalette?
    private var theme: Theme
    private var busy = false
    private var showHelp = false
    private var showPane: Bool
    private var mouseOn: Bool
    private var pasting = false
    private var pasteBuffer = ""
    private var lastInterrupt = 0.0
    private var running = true
    private let started = Date()
    private var sessionPath: String?
    private var systemPrompt: String?
    /// The messages the engine's next sentiment events belong to (by entry id).
    private var userAwaitingSentiment: Int?
    private var replyAwaitingSentiment: Int?

    public static let minimumSize = (columns: 40, rows: 8)
    /// The pane needs this many columns beside an 70-column transcript; narrower, it folds into the status line.
    static let paneWidth = 30, paneMinimumColumns = 100

    // Key codes given to sequences curses does not know (`define_key`), above every curses key code.
    private static let keyPasteStart: Int32 = 0x7000, keyPasteEnd: Int32 = 0x7001, keyAltEnter: Int32 = 0x7002

    public init(engine: Engine, options: Options) {
        self.engine = engine
        self.options = options
        theme = options.theme
        showPane = options.statsPane
        mouseOn = options.mouse
        systemPrompt = engine.session.systemPrompt
        let loaded = engine.loaded
        stats.model = loaded.model.config.name
        stats.architecture = loaded.model.config.architecture.rawValue
        stats.quant = loaded.weightTypeSummary
        stats.contextSize = engine.session.cache.contextSize
        stats.threads = loaded.pool.threadCount
        stats.loadSeconds = loaded.loadSeconds
        stats.sampleMemory()
        if let (chat, _) = options.resume {
            for message in chat.messages where message.role != .notice {
                transcript.append(message.role, message.content)
                if message.cut == true { transcript.finishLast(cut: true) }
                if let label = message.sentiment, let p = message.sentimentProbability, let last = transcript.entries.indices.last {
                    transcript.setSentiment(SentimentClassifier.Result(label: label, probability: p, probabilities: [], scores: [],
                                                                       latencySeconds: 0, truncatedTokens: 0), at: last)
                }
            }
        }
        if let banner = options.banner { transcript.append(.notice, banner) }
        for notice in options.notices { transcript.append(.notice, notice) }
        transcript.append(.notice, "Enter sends · Ctrl-J newline · Esc cancels a reply · PgUp/PgDn scroll · F1 help · F2 stats · Ctrl-D quits")
        if let (chat, path) = options.resume {
            sessionPath = path
            systemPrompt = chat.systemPrompt
            transcript.append(.notice, "Resumed \(chat.messages.count) messages from \(path); rebuilding the context…")
            engine.enqueue(.restore(chat.chatMessages, systemPrompt: chat.systemPrompt))
            busy = true
        }
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
        define_key("\u{1B}[200~", Self.keyPasteStart)
        define_key("\u{1B}[201~", Self.keyPasteEnd)
        define_key("\u{1B}\r", Self.keyAltEnter)
        define_key("\u{1B}\n", Self.keyAltEnter)
        mouseinterval(0)
        applyMouse()
        if !options.noColor, has_colors() {
            start_color()  // sets COLORS, which the depth is read from
            use_default_colors()
        }
        let depth = ColorDepth.detect(colors: Int(qw_colors()), hasColors: has_colors(), noColor: options.noColor)
        palette = CursesPalette(theme: theme, depth: depth)
        emit("\u{1B}[?2004h")  // bracketed paste: a paste arrives marked, so its newlines do not send
        defer {
            emit("\u{1B}[?2004l")
            endwin()
        }
        // SIGTERM / SIGHUP (a closed SSH session, `kill`): leave through the normal path, so the screen is
        // restored and the conversation saved. The handler only sets a flag; poll() returns with EINTR.
        chatTerminationSignal = 0
        for sig in [SIGTERM, SIGHUP] { signal(sig) { chatTerminationSignal = $0 } }
        draw()
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        var lastSample = 0.0
        while running {
            _ = poll(&fds, 2, 250)
            if chatTerminationSignal != 0 { break }
            var changed = readKeys()
            for event in engine.drainEvents() {
                handle(event)
                changed = true
            }
            if monotonicSeconds() - lastSample > 1 {
                stats.sampleMemory()
                lastSample = monotonicSeconds()
                changed = true
            }
            if changed { draw() }
        }
        engine.shutdown()
        saveSession()
    }

    // MARK: Events from the engine

    private func handle(_ event: Engine.Event) {
        switch event {
        case .userSentiment(let result):
            if let i = transcript.index(ofID: userAwaitingSentiment) { transcript.setSentiment(result, at: i) }
            stats.lastSentimentSeconds = result.latencySeconds
        case .replySentiment(let result):
            if let i = transcript.index(ofID: replyAwaitingSentiment) { transcript.setSentiment(result, at: i) }
            stats.lastSentimentSeconds = result.latencySeconds
            saveSession()
        case .token(let text, let rate, let recent):
            transcript.appendToLast(text)
            stats.tokenArrived(rate: rate, recentRate: recent)
        case .replyDone(let result):
            replyAwaitingSentiment = transcript.lastIndex(of: .assistant).map { transcript.entries[$0].id }
            transcript.finishLast(cut: result.stopReason == .cancelled || result.stopReason == .maxTokens)
            if result.stopReason == .contextFull {
                transcript.append(.notice, "The context is full: /clear starts a new conversation.")
            }
            stats.replyFinished(result, contextUsed: engine.session.cache.count)
            busy = false
            saveSession()
        case .restored(let tokens, let seconds, let dropped):
            busy = false
            stats.contextUsed = tokens
            guard tokens > 0 || dropped > 0 else { break }
            var note = String(format: "Context rebuilt: %d tokens in %.1f s.", tokens, seconds)
            if dropped > 0 { note += " The oldest \(dropped) messages did not fit and are not in the model's context." }
            transcript.append(.notice, note)
        case .error(let message):
            if busy, transcript.entries.last?.streaming == true { transcript.finishLast(cut: true) }
            transcript.append(.notice, "error: " + message)
            busy = false
            stats.busy = false
        }
    }

    // MARK: Keys

    private func readKeys() -> Bool {
        var changed = false
        var code: wint_t = 0
        while true {
            let kind = wget_wch(qw_stdscr(), &code)
            if kind == ERR { break }
            changed = true
            if showHelp, !pasting {  // any key closes the overlay
                showHelp = false
                continue
            }
            if kind == qw_key_code_yes() {
                handleKey(Int32(code))
            } else if pasting {
                pasteBuffer.unicodeScalars.append(Unicode.Scalar(UInt32(code)) ?? "\u{FFFD}")
            } else {
                handleCharacter(UInt32(code))
            }
        }
        return changed
    }

    private func handleKey(_ key: Int32) {
        let page = max(1, transcriptHeight() - 2)
        switch key {
        case Self.keyPasteStart:
            pasting = true
            pasteBuffer = ""
        case Self.keyPasteEnd:
            pasting = false
            // Terminals send pasted line breaks as CR; the editor keeps them as newlines (never "send").
            editor.insert(pasteBuffer.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n"))
            pasteBuffer = ""
        case Self.keyAltEnter: editor.insert("\n")
        case KEY_BACKSPACE: editor.backspace()
        case KEY_DC: editor.deleteForward()
        case KEY_LEFT: editor.moveLeft()
        case KEY_RIGHT: editor.moveRight()
        case KEY_HOME: editor.moveToLineStart()
        case KEY_END: editor.moveToLineEnd()
        case KEY_UP: editor.historyPrevious()
        case KEY_DOWN: editor.historyNext()
        case KEY_PPAGE: viewport.scroll(by: page)
        case KEY_NPAGE: viewport.scroll(by: -page)
        case KEY_ENTER: submit()
        case qw_key_f(1): showHelp = true
        case qw_key_f(2): showPane.toggle()
        case qw_key_mouse():
            var event = MEVENT()
            guard getmouse(&event) == OK else { return }
            if event.bstate & qw_wheel_up() != 0 { viewport.scroll(by: 3) }
            if event.bstate & qw_wheel_down() != 0 { viewport.scroll(by: -3) }
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
        case 63 where editor.isEmpty:                  // "?" on an empty line: help
            showHelp = true
        default:
            if c >= 32, let scalar = Unicode.Scalar(c) { editor.insert(String(Character(scalar))) }
        }
    }

    private func submit() {
        let draft = editor.text
        guard let text = editor.submit() else { return }
        if let command = SlashCommand.parse(text) { return perform(command, draft: draft) }
        let message = text.hasPrefix("//") ? String(text.dropFirst()) : text
        guard !busy else {
            transcript.append(.notice, "A reply is still running: Esc cancels it.")
            editor.insert(draft)
            return
        }
        startReply(userText: message)
        engine.submit(message)
    }

    private func startReply(userText: String?) {
        if let userText { transcript.append(.user, userText) }
        userAwaitingSentiment = transcript.lastIndex(of: .user).map { transcript.entries[$0].id }
        transcript.append(.assistant, "", streaming: true)
        busy = true
        stats.replyStarted()
        viewport.followBottom()
        saveSession()
    }

    // MARK: Commands

    private func perform(_ command: SlashCommand, draft: String) {
        let changesConversation: Bool
        switch command {
        case .clear, .regenerate, .edit, .system(.some): changesConversation = true
        default: changesConversation = false
        }
        if changesConversation, busy {
            transcript.append(.notice, "A reply is still running: Esc cancels it first.")
            return
        }
        switch command {
        case .help: showHelp = true
        case .quit: running = false
        case .clear:
            engine.enqueue(.reset)
            transcript.removeAll()
            viewport.followBottom()
            stats.contextUsed = 0
            sessionPath = nil
            transcript.append(.notice, "New conversation.")
        case .system(nil):
            let shown = systemPrompt.map { "System prompt: " + $0 } ?? "System prompt: the model's own default."
            transcript.append(.notice, shown + " (/system TEXT sets it, /system default restores it)")
        case .system(.some(let prompt)):
            systemPrompt = prompt
            engine.enqueue(.setSystemPrompt(prompt))
            if transcript.lastIndex(of: .user) != nil { busy = true }  // until the context is rebuilt
            transcript.append(.notice, prompt.map { "System prompt set: \($0)" } ?? "System prompt: back to the model's default.")
        case .regenerate:
            guard let reply = transcript.lastIndex(of: .assistant), transcript.lastIndex(of: .user) != nil else {
                transcript.append(.notice, "Nothing to regenerate yet.")
                return
            }
            transcript.removeEntries(at: [reply])
            startReply(userText: nil)
            engine.enqueue(.regenerate)
        case .edit:
            guard let user = transcript.lastIndex(of: .user) else {
                transcript.append(.notice, "Nothing to edit yet.")
                return
            }
            let text = transcript.entries[user].text
            transcript.removeEntries(at: [user] + (transcript.lastIndex(of: .assistant).map { $0 > user ? [$0] : [] } ?? []))
            engine.enqueue(.dropLastExchange)
            editor.insert(text)
            saveSession()
        case .save(let path): save(to: path)
        case .copy(let target): copy(target)
        case .theme(nil):
            transcript.append(.notice, "Themes: " + options.themes.names().joined(separator: ", ") + " (current: \(theme.name)). /theme NAME switches.")
        case .theme(.some(let name)):
            do {
                theme = try options.themes.load(name)
                palette = CursesPalette(theme: theme, depth: palette?.depth ?? .mono)
                transcript.append(.notice, "Theme: \(name)" + (palette?.depth == .mono ? " (this terminal shows no colour)" : ""))
            } catch {
                transcript.append(.notice, "\(error); keeping \(theme.name).")
            }
        case .stats:
            showPane.toggle()
            if showPane, Int(qw_cols()) < Self.paneMinimumColumns {
                let rows = stats.rows().map { "\($0.label) \($0.value)" }.joined(separator: " · ")
                transcript.append(.notice, "Stats (the pane needs \(Self.paneMinimumColumns) columns): " + rows)
            }
        case .model:
            transcript.append(.notice, modelDescription())
        case .mouse:
            mouseOn.toggle()
            applyMouse()
            transcript.append(.notice, mouseOn ? "Mouse capture on: the wheel scrolls (Shift+drag selects in most terminals)." : "Mouse capture off: the terminal's own selection works; PgUp/PgDn scroll.")
        case .unknown(let name):
            transcript.append(.notice, "Unknown command \(name): /help lists them (start a message with // to send a literal /).")
        case .invalid(let message):
            transcript.append(.notice, message)
            editor.insert(draft)
        }
    }

    private func modelDescription() -> String {
        let loaded = engine.loaded
        let config = loaded.model.config
        let size = (try? FileManager.default.attributesOfItem(atPath: options.modelPath)[.size] as? Int) ?? 0
        return "Model \(config.name) (\(config.architecture.rawValue)) · \(options.modelPath) · \(size >> 20) MiB · \(loaded.weightTypeSummary) · "
            + "\(config.layerCount) layers, \(config.hiddenSize) wide, \(config.headCount)/\(config.kvHeadCount) heads · "
            + "context \(engine.session.cache.contextSize) of \(config.trainedContext) trained · loaded in \(Int(loaded.loadSeconds * 1000)) ms"
    }

    private func currentChat() -> SavedChat {
        SavedChat(model: options.modelPath, systemPrompt: systemPrompt, created: started, transcript: transcript)
    }

    private func save(to path: String?) {
        let target = path.map { ($0 as NSString).expandingTildeInPath } ?? "qwentty-chat-\(Int(started.timeIntervalSince1970)).md"
        do {
            try AtomicFile.write(currentChat().markdown(), to: target)
            transcript.append(.notice, "Saved the chat to \(target).")
        } catch {
            transcript.append(.notice, "\(error)")
        }
    }

    private func copy(_ target: SlashCommand.CopyTarget) {
        let replies = transcript.entries.filter { $0.role == .assistant && !$0.text.isEmpty }
        let text: String?
        switch target {
        case .reply(let n): text = n <= replies.count ? replies[replies.count - n].text : nil
        case .code: text = replies.reversed().lazy.compactMap { MarkdownStream.codeBlocks(in: $0.text).last }.first
        }
        guard let text else {
            transcript.append(.notice, target == .code ? "No code block to copy yet." : "No such reply to copy.")
            return
        }
        guard text.utf8.count <= Clipboard.maximumBytes else {
            transcript.append(.notice, "Too long for the terminal clipboard (\(text.utf8.count) bytes); /save exports it instead.")
            return
        }
        emit(Clipboard.sequence(copying: text, insideTmux: ProcessInfo.processInfo.environment["TMUX"] != nil))
        transcript.append(.notice, "Copied \(text.count) characters (OSC 52: your terminal must allow clipboard access).")
    }

    /// Writes after every message (atomically), so a crash or a dropped SSH connection loses nothing.
    private func saveSession() {
        // Nothing is written until the first message; after that every change is (an /edit may empty it).
        guard let store = options.sessions, sessionPath != nil || transcript.lastIndex(of: .user) != nil else { return }
        let path = sessionPath ?? store.newPath(startedAt: Date())
        sessionPath = path
        do {
            try store.save(currentChat(), to: path)
        } catch {
            options.sessions = nil  // say it once, not after every message
            transcript.append(.notice, "Sessions will not be saved: \(error)")
        }
    }

    private func applyMouse() {
        var old: mmask_t = 0
        mousemask(mouseOn ? qw_wheel_up() | qw_wheel_down() : 0, &old)
    }

    /// Bytes for the terminal itself (mode switches, OSC 52), written past curses after its output.
    private func emit(_ sequence: String) {
        refresh()
        var bytes = Array(sequence.utf8)
        _ = bytes.withUnsafeMutableBytes { Foundation.write(1, $0.baseAddress, $0.count) }
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
            mvaddstr(0, 0, clip(message, to: max(1, cols * rows - 1)))
            refresh()
            return
        }
        let paneShown = showPane && cols >= Self.paneMinimumColumns
        transcript.showsLatency = showPane
        let transcriptWidth = paneShown ? cols - Self.paneWidth - 1 : cols
        let height = transcriptHeight()
        let layout = transcript.layout(width: transcriptWidth - 1)
        let range = viewport.visibleRange(lineCount: layout.lines.count, entryStarts: layout.entryStarts, height: height, width: transcriptWidth)
        for (row, line) in layout.lines[range].enumerated() {
            put(line, row: row, column: 0, width: transcriptWidth - 1)
        }
        if paneShown { drawPane(column: transcriptWidth + 1, height: height) }
        let statusRow = Int32(height)
        let attributes = palette?.statusAttributes ?? Int32(qw_attr_reverse())
        let marker = busy ? "● " : "  "
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

    private func drawPane(column: Int, height: Int) {
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

    private func drawInput(firstRow: Int32, cols: Int) {
        let inputLines = editor.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let (cursorLine, cursorColumn) = editor.cursorLineAndColumn
        let firstShown = max(0, cursorLine - inputHeight() + 1)
        for (i, text) in inputLines.enumerated() where i >= firstShown && i < firstShown + inputHeight() {
            let prefix = i == 0 ? "› " : "  "
            let visible = TerminalSanitizer.sanitize(text.replacingTabs(), keepNewlines: false)
            let shift = i == cursorLine ? max(0, cursorColumn - (cols - 4)) : 0
            mvaddstr(firstRow + Int32(i - firstShown), 0, prefix + clip(String(visible.dropFirst(shift)), to: cols - 3))
        }
        move(firstRow + Int32(cursorLine - firstShown), Int32(2 + min(cursorColumn, cols - 4)))
    }

    private func drawHelp(rows: Int, cols: Int) {
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
    private func put(_ line: Transcript.Line, row: Int, column: Int, width: Int) {
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
