import CCurses
import Chat
import Essentials
import Foundation
import Inference

/// Set by the SIGTERM/SIGHUP handler (a plain global: the only thing a signal handler may touch).
nonisolated(unsafe) private var chatTerminationSignal: Int32 = 0

/// The full-screen chat: keys, drawing, and slash commands parsed into calls on the `ChatController`,
/// which owns the conversation and the engine. Curses is called from this (the UI) thread only;
/// inference runs on the engine's thread, whose events wake `poll()` through the controller's
/// descriptors. Everything with logic in it (layout, markdown, input editing, commands, themes, stats)
/// lives in plain types; this class wires them to keys and to the screen.
public final class ChatApp {
    public struct Options {
        public var banner: String?
        public var theme = Theme.builtInDefault
        public var themes = ThemeLibrary(directories: [])
        public var noColor = false
        public var mouse = true
        public var statsPane = true
        /// Shown in the transcript at start (config problems, a bad theme).
        public var notices: [String] = []
        public init() {}
    }

    let chat: ChatController
    var options: Options
    var transcript = Transcript()
    var viewport = TranscriptViewport()
    var editor = InputEditor()
    var stats = ChatStats()
    var palette: CursesPalette?
    var theme: Theme
    var showHelp = false
    /// The stats pane is shown (and badges show the classifier's latency: the details come together).
    var showPane: Bool {
        didSet { transcript.showsLatency = showPane }
    }
    var mouseOn: Bool
    var pasting = false
    /// A paste end marker came; the paste ends with the burst of input it came in.
    var pasteClosing = false
    var pasteBuffer = ""
    var inputDecoder = UTF8InputDecoder()
    var lastInterrupt = 0.0
    var running = true
    /// The notice of a context trim whose prefill is running (its time is added when done).
    var trimNote: Int?
    /// The saved chat the crash handler's line names.
    var savedChatShown: String?

    public static let minimumSize = (columns: 40, rows: 8)
    /// The pane needs this many columns beside a 66-column transcript; narrower, it folds into the status
    /// line. 33 fits "prompt eval 1000 tok/s · 1234 ms" whole.
    static let paneWidth = 33, paneMinimumColumns = 100

    // Key codes given to sequences curses does not know (`define_key`), above every curses key code.
    static let keyPasteStart: Int32 = 0x7000, keyPasteEnd: Int32 = 0x7001, keyAltEnter: Int32 = 0x7002

    /// `chat` has whatever it was opened with (a resumed conversation) already; its notices so far are
    /// shown first.
    public init(chat: ChatController, options: Options) {
        self.chat = chat
        self.options = options
        theme = options.theme
        showPane = options.statsPane
        transcript.showsLatency = showPane
        mouseOn = options.mouse
        describeModel()
        stats.sampleMemory()
        applyChatEvents()
        if let banner = options.banner { note(banner) }
        for notice in options.notices { note(notice) }
        note("Enter sends · Ctrl-J newline · Esc cancels a reply · PgUp/PgDn scroll · F1 help · F2 stats · Ctrl-D quits")
    }

    /// The stats pane's model figures, from the model in use.
    func describeModel() {
        let model = chat.model
        stats.model = model.name
        stats.architecture = model.architecture
        stats.quant = model.weightTypes
        stats.contextSize = model.contextSize
        stats.threads = model.threads
        stats.loadSeconds = model.loadSeconds
    }

    /// Runs until the user quits; restores the terminal before returning.
    public func run() {
        setlocale(LC_ALL, "")
        TerminalRestorer.install()  // before curses changes the tty modes it saves
        defer { TerminalRestorer.uninstall() }
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
        // SIGINT too: the keyboard's Ctrl-C arrives as a key in raw mode, so a SIGINT is a `kill -INT`,
        // which would otherwise end the process with bracketed paste and the alternate screen still on.
        for sig in [SIGTERM, SIGHUP, SIGINT] { signal(sig) { chatTerminationSignal = $0 } }
        draw()
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: -1, events: Int16(POLLIN), revents: 0)]
        var lastSample = 0.0
        while running {
            // A model switch brings a new engine; poll skips a negative descriptor (no load running).
            for (index, descriptor) in chat.wakeDescriptors.prefix(2).enumerated() { fds[index + 1].fd = descriptor }
            _ = poll(&fds, 3, 250)
            if chatTerminationSignal != 0 { break }
            var changed = readKeys()
            if chat.poll() {
                changed = true
                stats.nextTrim = chat.context.nextTrim
            }
            if applyChatEvents() { changed = true }
            if monotonicSeconds() - lastSample > 1 {
                stats.sampleMemory()
                lastSample = monotonicSeconds()
                changed = true
            }
            if changed { draw() }
            if chat.sessionPath != savedChatShown {
                savedChatShown = chat.sessionPath
                TerminalRestorer.setSavedChat(savedChatShown)
            }
            // A test's way to see the terminal restored after a crash (undocumented on purpose).
            if ProcessInfo.processInfo.environment["QWENTTY_DEBUG_CRASH"] == "1" { fatalError("QWENTTY_DEBUG_CRASH") }
        }
        chat.shutdown()
    }

    // MARK: What the chat reports

    /// Shows what the controller reported since the last call; true when there was anything.
    @discardableResult
    func applyChatEvents() -> Bool {
        let events = chat.takeEvents()
        for event in events { apply(event) }
        return !events.isEmpty
    }

    func apply(_ event: ChatController.Event) {
        switch event {
        case .notice(let text):
            note(text)
        case .replyStarted:
            stats.replyStarted()
            viewport.followBottom()
        case .firstToken(let first):
            stats.firstToken(first)
        case .tokenArrived(let rate, let recent):
            stats.tokenArrived(rate: rate, recentRate: recent)
        case .replyFinished(let result, let contextUsed):
            stats.replyFinished(result, contextUsed: contextUsed)
            trimNote = nil
        case .contextTrimmed(let trim):
            // Said at once, below the reply, so the pause while the rest is read again has a reason.
            if let seconds = trim.seconds, let note = trimNote {
                if trim.prefilledTokens > 0 { transcript.appendText(String(format: " Done in %.1f s.", seconds), toNotice: note) }
                trimNote = nil
            } else if trim.seconds == nil {
                trimNote = note(Self.trimNote(trim))
            }
        case .sentimentMeasured(let latency):
            stats.lastSentimentSeconds = latency
        case .contextUsed(let tokens):
            stats.contextUsed = tokens
        case .conversationReplaced:
            transcript.removeAll()
            transcript.sync(with: chat.conversation)
            viewport.followBottom()
        case .replyFailed:
            stats.busy = false
            trimNote = nil
        case .modelChanged:
            describeModel()
        }
    }

    /// Shows a notice below everything said so far (the messages the conversation has now are placed
    /// first, so a notice about a message comes after it).
    @discardableResult
    func note(_ text: String) -> Int {
        transcript.sync(with: chat.conversation)
        return transcript.appendNotice(text)
    }

    /// What the user is told when the context is trimmed (the time is added when the prefill is done).
    static func trimNote(_ trim: ChatSession.ContextTrim) -> String {
        "The context was full: the oldest \(trim.droppedMessages) messages left the model's memory (they stay on screen and in "
            + "the saved chat; -c N keeps more)"
            + (trim.preparedTokens > 0 ? "; \(trim.preparedTokens) tokens were prepared while you typed" : "")
            + (trim.prefilledTokens > 0 ? "; reading \(trim.preparedTokens > 0 ? "the last" : "the other") \(trim.prefilledTokens) tokens again." : ".")
    }

    // MARK: Keys

    /// Reads what the terminal sent: keys curses recognised (arrows, F-keys, the paste markers), and
    /// bytes, which `inputDecoder` turns into characters (invalid UTF-8 as U+FFFD, nothing dropped).
    func readKeys() -> Bool {
        var changed = false
        while true {
            let code = wgetch(qw_stdscr())
            if code == ERR {
                // The input that arrived together has been read: a paste whose end marker was in it ends now.
                if pasteClosing { finishPaste() }
                break
            }
            changed = true
            guard (0 ... 255).contains(code) else {
                inputDecoder.flush().forEach(deliver)  // a sequence a key interrupts is not a character
                if showHelp, !pasting {  // any key closes the overlay
                    showHelp = false
                    continue
                }
                handleKey(code)
                continue
            }
            inputDecoder.feed(UInt8(code)).forEach(deliver)
        }
        return changed
    }

    /// One character typed or pasted.
    func deliver(_ scalar: Unicode.Scalar) {
        if showHelp, !pasting {  // any key closes the overlay
            showHelp = false
        } else if pasting {
            pasteBuffer.unicodeScalars.append(scalar)
        } else {
            handleCharacter(scalar.value)
        }
    }

    func handleKey(_ key: Int32) {
        let page = max(1, transcriptHeight() - 2)
        switch key {
        case Self.keyPasteStart:
            if pasteClosing { finishPaste() }
            pasting = true
            pasteBuffer = ""
        case Self.keyPasteEnd:
            // Not the end yet: pasted text may itself contain the end marker followed by a CR, which would
            // send the message. Whatever arrives in the same burst of input is still the paste; a person's
            // next key comes in a later one.
            if pasting { pasteClosing = true }
        case _ where pasting:
            break  // a key sequence inside pasted text is not a command
        case Self.keyAltEnter: editor.insert("\n")
        case KEY_BACKSPACE: editor.backspace()
        case KEY_DC: editor.deleteForward()
        case KEY_LEFT: editor.moveLeft()
        case KEY_RIGHT: editor.moveRight()
        case KEY_HOME: editor.moveToLineStart()
        case KEY_END:  // the end of the input line, and the newest message
            editor.moveToLineEnd()
            viewport.followBottom()
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

    /// Puts the pasted text in the editor. Terminals send pasted line breaks as CR; the editor keeps them
    /// as newlines (never "send").
    func finishPaste() {
        inputDecoder.flush().forEach(deliver)
        pasting = false
        pasteClosing = false
        editor.insert(pasteBuffer.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n"))
        pasteBuffer = ""
    }

    func handleCharacter(_ c: UInt32) {
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
            chat.cancel()
        case 3:                                        // Ctrl-C
            if chat.streamingMessage != nil {
                chat.cancel()
            } else if monotonicSeconds() - lastInterrupt < 2 {
                running = false
            } else {
                lastInterrupt = monotonicSeconds()
                note("Press Ctrl-C again to quit.")
            }
        case 4:                                        // Ctrl-D
            if editor.isEmpty { running = false }
        case 63 where editor.isEmpty:                  // "?" on an empty line: help
            showHelp = true
        default:
            if c >= 32, let scalar = Unicode.Scalar(c) { editor.insert(String(Character(scalar))) }
        }
    }

    func submit() {
        let draft = editor.text
        guard let text = editor.submit() else { return }
        if let command = SlashCommand.parse(text) { return perform(command, draft: draft) }
        let message = text.hasPrefix("//") ? String(text.dropFirst()) : text
        attempt(draft: draft) { try chat.send(message) }
    }

    /// Runs a chat command; a refusal is said and the input line gets back what was typed.
    func attempt(draft: String, _ command: () throws -> Void) {
        do {
            try command()
        } catch {
            note("\(error)")
            editor.insert(draft)
        }
        applyChatEvents()
    }
}
