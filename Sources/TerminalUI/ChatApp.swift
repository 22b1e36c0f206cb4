import CCurses
import Foundation
import Inference
import Kernels
import ModelFiles
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
        /// `--quant`: a Hugging Face folder's matrices are quantised at load (also when `/model` opens one).
        public var quantizeTo: QuantizationTarget?
        /// Qwen3 thinks before answering (`--no-think`, `think = off`: it answers at once; `/think` changes it).
        public var thinking = true
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

    /// Replaced by `/model FILE` and `/set ctx N` (a new engine on the new model or context).
    var engine: Engine
    var options: Options
    var transcript = Transcript()
    var viewport = TranscriptViewport()
    var editor = InputEditor()
    var stats = ChatStats()
    var palette: CursesPalette?
    var theme: Theme
    var busy = false
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
    var lastInterrupt = 0.0
    var running = true
    let started = Date()
    var sessionPath: String?
    /// The name `/rename` gave this chat (kept in its saved file).
    var sessionName: String?
    var systemPrompt: String?
    /// The transcript entry each pending badge request is for.
    var badgeRequests: [Engine.RequestID: Int] = [:]
    /// The reply in progress: its request and its transcript entry.
    var reply: (request: Engine.RequestID, entry: Int)?
    /// Sampling and the reply limit as `/set` left them (the engine gets a copy of each change).
    var settings: RuntimeSettings
    /// The transcript note of a context trim whose prefill is running (its time is added when done).
    var trimNote: Int?
    /// A model loading beside the engine in use (`/model`, `/set ctx`); the conversation waits for it.
    var pendingLoad: ModelLoad?
    /// The load is for a chat just opened: if it fails or is given up, the engine in use rebuilds the chat.
    var pendingLoadOpensChat = false

    /// Why a message or a command that changes the conversation has to wait.
    var busyNotice: String {
        pendingLoad != nil ? "The model is still loading: Esc gives it up." : "A reply is still running: Esc cancels it first."
    }

    public static let minimumSize = (columns: 40, rows: 8)
    /// The pane needs this many columns beside a 66-column transcript; narrower, it folds into the status
    /// line. 33 fits "prompt eval 1000 tok/s · 1234 ms" whole.
    static let paneWidth = 33, paneMinimumColumns = 100

    // Key codes given to sequences curses does not know (`define_key`), above every curses key code.
    static let keyPasteStart: Int32 = 0x7000, keyPasteEnd: Int32 = 0x7001, keyAltEnter: Int32 = 0x7002

    public init(engine: Engine, options: Options) {
        self.engine = engine
        self.options = options
        theme = options.theme
        showPane = options.statsPane
        transcript.showsLatency = showPane
        mouseOn = options.mouse
        systemPrompt = engine.session.systemPrompt
        settings = RuntimeSettings(sampler: engine.initialSamplerSettings, maxReplyTokens: engine.initialMaxReplyTokens)
        if !options.thinking {
            settings.thinking = false
            sendSettings()
        }
        describeModel()
        noteTemplate()
        stats.sampleMemory()
        if let (chat, path) = options.resume { open(chat, from: path) }
        if let banner = options.banner { transcript.append(.notice, banner) }
        for notice in options.notices { transcript.append(.notice, notice) }
        transcript.append(.notice, "Enter sends · Ctrl-J newline · Esc cancels a reply · PgUp/PgDn scroll · F1 help · F2 stats · Ctrl-D quits")
    }

    /// The stats pane's model figures, from the engine in use.
    func describeModel() {
        let loaded = engine.loaded
        stats.model = loaded.model.config.name
        stats.architecture = loaded.model.config.architecture.rawValue
        stats.quant = loaded.weightTypeSummary
        stats.contextSize = engine.session.cache.contextSize
        stats.threads = loaded.pool.threadCount
        stats.loadSeconds = loaded.loadSeconds
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
        // SIGINT too: the keyboard's Ctrl-C arrives as a key in raw mode, so a SIGINT is a `kill -INT`,
        // which would otherwise end the process with bracketed paste and the alternate screen still on.
        for sig in [SIGTERM, SIGHUP, SIGINT] { signal(sig) { chatTerminationSignal = $0 } }
        draw()
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: -1, events: Int16(POLLIN), revents: 0)]
        var lastSample = 0.0
        while running {
            fds[1].fd = engine.wakeDescriptor  // a model switch brings a new engine
            fds[2].fd = pendingLoad?.wakeDescriptor ?? -1  // poll skips a negative descriptor
            _ = poll(&fds, 3, 250)
            if chatTerminationSignal != 0 { break }
            var changed = readKeys()
            for event in engine.drainEvents() {
                handle(event)
                changed = true
            }
            if let load = pendingLoad, let outcome = load.take() {
                finishLoad(load, outcome)
                changed = true
            }
            if monotonicSeconds() - lastSample > 1 {
                stats.sampleMemory()
                lastSample = monotonicSeconds()
                changed = true
            }
            if changed { draw() }
        }
        pendingLoad?.abandon()
        engine.shutdown()
        saveSession()
    }

    // MARK: Events from the engine

    func handle(_ event: Engine.Event) {
        switch event {
        case .sentiment(let request, let result):
            if let entry = badgeRequests.removeValue(forKey: request) { transcript.setSentiment(result, entry: entry) }
            stats.lastSentimentSeconds = result.latencySeconds
            if !busy { saveSession() }
        case .firstToken(let request, let first) where request == reply?.request:
            stats.firstToken(first)
        case .token(let request, let text, let rate, let recent) where request == reply?.request:
            if let entry = reply?.entry { transcript.appendText(text, toEntry: entry) }
            stats.tokenArrived(rate: rate, recentRate: recent)
        case .replyDone(let request, let summary) where request == reply?.request:
            guard let entry = reply?.entry else { break }
            reply = nil
            let result = summary.stats
            transcript.finish(entry: entry, cut: result.stopReason == .cancelled, hitLimit: result.stopReason == .maxTokens)
            if result.stopReason == .maxTokens {
                transcript.append(.notice, "The reply stopped at the \(settings.maxReplyTokens)-token limit: /continue goes on; /set max_tokens N, -n N or max_tokens = N in the config raises it.")
            }
            if result.stopReason == .contextFull {
                transcript.append(.notice, "This reply alone filled the \(engine.session.cache.contextSize)-token context and stopped: -c N raises it.")
            }
            // The reply's badge is background work: a message sent meanwhile goes first. (A continued
            // reply is classified whole, as the transcript shows it.)
            // A Qwen3 reply is judged by its answer, not by its thinking.
            if engine.classifier != nil, let index = transcript.index(ofID: entry) {
                let answer = engine.session.template.answer(of: transcript.entries[index].text)
                if !answer.isEmpty { badgeRequests[engine.enqueue(.classify(answer, .background))] = entry }
            }
            stats.replyFinished(result, contextUsed: summary.contextUsed)
            busy = false
            saveSession()
        case .contextTrimmed(let request, let trim) where request == reply?.request:
            // Said at once, below the reply, so the pause while the rest is read again has a reason.
            if let seconds = trim.seconds, let note = trimNote {
                if trim.prefilledTokens > 0 { transcript.appendText(String(format: " Done in %.1f s.", seconds), toEntry: note) }
                trimNote = nil
            } else if trim.seconds == nil {
                trimNote = transcript.append(.notice, Self.trimNote(trim))
            }
        case .firstToken, .token, .replyDone, .contextTrimmed:
            break  // a request this screen no longer waits for
        case .restored(_, let tokens, let seconds, let dropped):
            busy = false
            stats.contextUsed = tokens
            guard tokens > 0 || dropped > 0 else { break }
            var note = String(format: "Context rebuilt: %d tokens in %.1f s.", tokens, seconds)
            if dropped > 0 { note += " The oldest \(dropped) messages did not fit and are not in the model's context." }
            transcript.append(.notice, note)
        case .error(let request, let message):
            badgeRequests[request] = nil
            if request == reply?.request, let entry = reply?.entry {
                transcript.finish(entry: entry, cut: true)
                reply = nil
                trimNote = nil
            }
            transcript.append(.notice, "error: " + message)
            if reply == nil {
                busy = false
                stats.busy = false
            }
        }
    }

    /// What the user is told when the context is trimmed (the time is added when the prefill is done).
    static func trimNote(_ trim: ChatSession.ContextTrim) -> String {
        "The context was full: the oldest \(trim.droppedMessages) messages left the model's memory (they stay on screen and in "
            + "the saved chat; -c N keeps more)"
            + (trim.prefilledTokens > 0 ? "; reading the other \(trim.prefilledTokens) tokens again." : ".")
    }

    // MARK: Keys

    func readKeys() -> Bool {
        var changed = false
        var code: wint_t = 0
        while true {
            let kind = wget_wch(qw_stdscr(), &code)
            if kind == ERR {
                // The input that arrived together has been read: a paste whose end marker was in it ends now.
                if pasteClosing { finishPaste() }
                break
            }
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
            if let reply { engine.cancel(reply.request) }
            if let load = pendingLoad {
                load.abandon()
                keepEngine(after: load, because: "Gave up loading \(load.request.path)")
            }
        case 3:                                        // Ctrl-C
            if let reply {
                engine.cancel(reply.request)
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

    func submit() {
        let draft = editor.text
        guard let text = editor.submit() else { return }
        if let command = SlashCommand.parse(text) { return perform(command, draft: draft) }
        let message = text.hasPrefix("//") ? String(text.dropFirst()) : text
        guard !busy else {
            transcript.append(.notice, busyNotice)
            editor.insert(draft)
            return
        }
        let entry = transcript.append(.user, message)
        // The message's badge first (it is short), then the reply.
        if engine.classifier != nil { badgeRequests[engine.enqueue(.classify(message, .normal))] = entry }
        startReply(engine.enqueue(.send(message)))
    }

    /// Shows an empty streaming reply for `request` (a `.send` or `.regenerate` job).
    func startReply(_ request: Engine.RequestID) {
        reply = (request, transcript.append(.assistant, "", streaming: true))
        busy = true
        stats.replyStarted()
        viewport.followBottom()
        saveSession()
    }

    /// Streams the continuation of the reply `entry` into it.
    func continueReply(entry: Int) {
        transcript.reopen(entry: entry)
        reply = (engine.enqueue(.continueReply), entry)
        busy = true
        stats.replyStarted()
        viewport.followBottom()
    }
}
