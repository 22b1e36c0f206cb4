import CCurses
import Foundation
import Inference

/// The slash commands: what each one does to the conversation, the engine and the screen.
extension ChatApp {

    func perform(_ command: SlashCommand, draft: String) {
        let changesConversation: Bool
        switch command {
        case .clear, .regenerate, .continueReply, .edit, .system(.some), .load, .model(.some): changesConversation = true
        default: changesConversation = false
        }
        if changesConversation, busy {
            transcript.append(.notice, busyNotice)
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
            let shown = systemPrompt.map { "System prompt: " + $0 }
                ?? engine.session.template.defaultSystemPrompt.map { "System prompt (the model's own default): " + $0 }
                ?? "System prompt: none (this model's template has no default)."
            transcript.append(.notice, shown + " (/system TEXT sets it, /system default restores it)")
        case .system(.some(let prompt)):
            systemPrompt = prompt
            engine.enqueue(.restore(currentChat().chatMessages, systemPrompt: prompt))
            if transcript.lastIndex(of: .user) != nil { busy = true }  // until the context is rebuilt
            transcript.append(.notice, prompt.map { "System prompt set: \($0)" } ?? "System prompt: back to the model's default.")
        case .regenerate:
            guard let user = transcript.lastIndex(of: .user), let reply = transcript.lastIndex(of: .assistant), reply > user else {
                transcript.append(.notice, "Nothing to regenerate yet.")
                return
            }
            // The message comes from the transcript, the conversation's one record; the engine only cuts its cache.
            transcript.removeEntries(at: [reply])
            engine.enqueue(.dropLastExchange)
            startReply(engine.enqueue(.send(transcript.entries[user].text)))
        case .continueReply:
            guard let reply = transcript.lastIndex(of: .assistant), transcript.lastIndex(of: .user) != nil else {
                transcript.append(.notice, "No reply to continue yet.")
                return
            }
            continueReply(entry: transcript.entries[reply].id)
        case .set(nil), .show:
            let system = systemPrompt ?? engine.session.template.defaultSystemPrompt.map { "the model's default (\($0))" } ?? "none"
            transcript.append(.notice, settings.summary + " · ctx \(engine.session.cache.contextSize) · system: \(system)"
                              + (sessionName.map { " · chat name: \($0)" } ?? "") + " (/set KEY VALUE changes one; saved with this chat)")
        case .set(.some(let setting)):
            do {
                if ["ctx", "ctx_size", "num_ctx"].contains(setting.key.lowercased()) {
                    guard !busy else {
                        transcript.append(.notice, busyNotice)
                        return
                    }
                    guard let size = Int(setting.value), size >= RuntimeSettings.minimumContext else {
                        transcript.append(.notice, "/set ctx: expected a token count of at least \(RuntimeSettings.minimumContext), got '\(setting.value)'")
                        return
                    }
                    return reload(path: nil, contextSize: size, chatContext: true)
                }
                if ["system", "system_prompt"].contains(setting.key.lowercased()) {
                    return perform(.system(.some(setting.value.lowercased() == "default" ? nil : setting.value)), draft: draft)
                }
                transcript.append(.notice, try settings.set(setting.key, setting.value))
                sendSettings()
                saveSession()
            } catch {
                transcript.append(.notice, "\(error)")
                editor.insert(draft)
            }
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
        case .sessions, .load, .rename, .delete: manageSessions(command)
        case .copy(let target): copy(target)
        case .theme(nil):
            transcript.append(.notice, "Themes: " + options.themes.names().joined(separator: ", ") + " (current: \(theme.name)). /theme NAME switches.")
        case .theme(.some(let name)):
            do {
                theme = try options.themes.load(name)
                palette = CursesPalette(theme: theme, depth: palette?.terminalDepth ?? .mono)
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
        case .model(nil):
            transcript.append(.notice, modelDescription())
        case .model(.some(let path)):
            reload(path: (path as NSString).expandingTildeInPath, contextSize: nil)
        case .mouse:
            mouseOn.toggle()
            applyMouse()
            transcript.append(.notice, mouseOn ? "Mouse capture on: the wheel scrolls (Shift+drag selects in most terminals)." : "Mouse capture off: the terminal's own selection works; PgUp/PgDn scroll.")
        case .think(let setting):
            think(setting)
        case .unknown(let name):
            transcript.append(.notice, "Unknown command \(name): /help lists them (start a message with // to send a literal /).")
        case .invalid(let message):
            transcript.append(.notice, message)
            editor.insert(draft)
        }
    }

    /// `/think`: whether a Qwen3 model thinks before answering (from the next reply on), and whether its
    /// thinking is shown unfolded.
    func think(_ setting: SlashCommand.ThinkSetting?) {
        let thinks = engine.session.template.supportsThinking
        switch setting {
        case .on?, .off?:
            guard thinks else {
                transcript.append(.notice, "This model's chat template has no think blocks (Qwen3's have): /think on|off changes nothing here.")
                return
            }
            settings.thinking = setting == .on
            sendSettings()
            transcript.append(.notice, settings.thinking ? "Thinking on: the model reasons before it answers, from the next reply (/think show unfolds it)."
                                                         : "Thinking off: the model answers at once, from the next reply.")
        case .show?, .hide?:
            transcript.showsReasoning = setting == .show
            transcript.append(.notice, transcript.showsReasoning ? "Thinking is shown unfolded (dimmed)." : "Thinking is folded to one line.")
        case nil:
            guard thinks else {
                transcript.append(.notice, "This model's chat template has no think blocks (Qwen3's have).")
                return
            }
            transcript.append(.notice, "Thinking \(settings.thinking ? "on" : "off"), shown \(transcript.showsReasoning ? "unfolded" : "folded") (/think on|off|show|hide).")
        }
    }

    /// Sends the settings replies are made with (sampling, reply limit, thinking) to the engine.
    func sendSettings() {
        engine.enqueue(.configure(settings.sampler, maxReplyTokens: settings.maxReplyTokens, thinking: settings.thinking))
    }

    /// A model whose chat template qwentty does not render says so when it is loaded.
    func noteTemplate() {
        if let warning = engine.session.template.warning { transcript.append(.notice, "Chat template: " + warning + ".") }
    }

    func modelDescription() -> String {
        let loaded = engine.loaded
        let config = loaded.model.config
        let size = loaded.source.byteCount
        return "Model \(config.name) (\(config.architecture.rawValue)) · \(options.modelPath) · \(size >> 20) MiB · \(loaded.weightTypeSummary) (\(loaded.weightTypeMix)) · "
            + "\(config.layerCount) layers, \(config.hiddenSize) wide, \(config.headCount)/\(config.kvHeadCount) heads · "
            + "context \(stats.contextSize) of \(config.trainedContext) trained · loaded in \(Int(loaded.loadSeconds * 1000)) ms"
    }

    func currentChat() -> SavedChat {
        var chat = SavedChat(model: options.modelPath, systemPrompt: systemPrompt, created: started, transcript: transcript)
        chat.name = sessionName
        chat.settings = settings.saved
        return chat
    }

    /// `/sessions`, `/load`, `/rename`, `/delete`.
    func manageSessions(_ command: SlashCommand) {
        guard let store = options.sessions else {
            transcript.append(.notice, "Sessions are not being saved (--no-save, or the folder could not be written).")
            return
        }
        do {
            switch command {
            case .sessions:
                let all = store.list()
                guard !all.isEmpty else {
                    transcript.append(.notice, "No saved chats yet in \(store.directory).")
                    return
                }
                let formatter = DateFormatter()
                formatter.dateFormat = "yyyy-MM-dd HH:mm"
                let lines = all.prefix(20).enumerated().map { index, chat in
                    let current = chat.path == sessionPath ? " (this chat)" : ""
                    let name = chat.name.map { "\($0) · " } ?? ""
                    return "\(index + 1). \(formatter.string(from: chat.modified)) · \(name)\(chat.turns) turns · \(chat.firstLine.prefix(60))\(current)"
                }
                transcript.append(.notice, "Saved chats, newest first (/load N or NAME opens one):\n" + lines.joined(separator: "\n")
                                  + (all.count > 20 ? "\n… and \(all.count - 20) older" : ""))
            case .load(let selector):
                let path = try store.path(for: selector)
                open(try store.load(path), from: path)
            case .rename(let name):
                sessionName = name
                transcript.append(.notice, "This chat is named \(name): `qwentty --resume \(name)` or /load \(name) opens it.")
                saveSession()
            case .delete(let selector):
                let path = try store.path(for: selector)
                try store.delete(path)
                if path == sessionPath {
                    sessionPath = nil  // the next message saves this chat anew
                    transcript.append(.notice, "Deleted this chat's saved copy; it is saved again with the next message.")
                } else {
                    transcript.append(.notice, "Deleted \(path).")
                }
            default: break
            }
        } catch {
            transcript.append(.notice, "\(error)")
        }
    }

    /// `/model FILE`, `/set ctx N` and a chat saved at another context: loads the model (the same file when
    /// `path` is nil) with the context size asked for (the current one when nil) into a new engine, on a
    /// thread of its own (`ModelLoad`); `finishLoad` switches to it and rebuilds the conversation there.
    /// Until then the old engine stays: a file that fails to load, or a load given up with Esc, changes
    /// nothing. The conversation waits meanwhile (`busy`), so that what is rebuilt is what is on screen.
    func reload(path: String?, contextSize: Int?, chatContext: Bool = false) {
        guard pendingLoad == nil else {
            transcript.append(.notice, "A model is already loading: Esc gives it up.")
            return
        }
        var sampler = settings.sampler
        sampler.seed = UInt64.random(in: 0 ... UInt64(UInt32.max))
        let target = path ?? options.modelPath
        var isFolder: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: target, isDirectory: &isFolder) && isFolder.boolValue
        let request = ModelLoad.Request(path: target,
                                        contextSize: contextSize ?? engine.session.cache.contextSize,
                                        threads: engine.loaded.pool.threadCount, sampler: sampler,
                                        systemPrompt: systemPrompt, maxReplyTokens: settings.maxReplyTokens,
                                        quantizeTo: folder ? options.quantizeTo : nil,
                                        cachePrecision: engine.loaded.model.cachePrecision, chatContext: chatContext)
        do {
            pendingLoad = try ModelLoad(request)
        } catch {
            transcript.append(.notice, "\(error); keeping \(options.modelPath).")
            return
        }
        busy = true
        transcript.append(.notice, "Loading \(request.path) with a \(request.contextSize)-token context… (Esc gives it up)")
    }

    /// A load failed or was given up: the engine in use stays (and rebuilds a chat opened meanwhile).
    func keepEngine(after load: ModelLoad, because reason: String) {
        pendingLoad = nil
        transcript.append(.notice, "\(reason); keeping \(options.modelPath) with a \(engine.session.cache.contextSize)-token context.")
        if pendingLoadOpensChat {
            pendingLoadOpensChat = false
            engine.enqueue(.restore(currentChat().chatMessages, systemPrompt: systemPrompt))  // `busy` until `.restored`
        } else {
            busy = false
        }
    }

    /// The load has finished: switch to its engine (the old one is shut down) and rebuild the conversation
    /// on it, or say why not and keep the old one.
    func finishLoad(_ load: ModelLoad, _ outcome: Result<Engine, Error>) {
        let next: Engine
        switch outcome {
        case .failure(let error):
            return keepEngine(after: load, because: "\(error)")
        case .success(let engine):
            next = engine
        }
        pendingLoad = nil
        pendingLoadOpensChat = false
        engine.shutdown()
        engine = next
        options.modelPath = load.request.path
        if load.request.chatContext { settings.contextSize = load.request.contextSize }
        // A `/set` made while the model loaded went to the old engine: the new one gets today's values.
        sendSettings()
        badgeRequests = [:]
        describeModel()
        stats.contextUsed = 0
        let loaded = next.loaded
        var note = "Model \(loaded.model.config.name) (\(loaded.weightTypeSummary)) from \(load.request.path), context \(loaded.contextSize) tokens"
        if load.request.contextSize > loaded.contextSize { note += " (the model's maximum)" }
        transcript.append(.notice, note + String(format: ", loaded in %.0f ms.", loaded.loadSeconds * 1000))
        noteTemplate()
        let history = currentChat().chatMessages
        if history.isEmpty {
            busy = false
        } else {
            engine.enqueue(.restore(history, systemPrompt: systemPrompt))  // `busy` until `.restored`
        }
        saveSession()
    }

    /// Shows a saved conversation and rebuilds the model's context from it (resume, /load).
    func open(_ chat: SavedChat, from path: String) {
        transcript.removeAll()
        for message in chat.messages where message.role != .notice {
            let entry = transcript.append(message.role, message.content)
            if message.cut == true || message.limit == true {
                transcript.finish(entry: entry, cut: message.cut == true, hitLimit: message.limit == true)
            }
            if let label = message.sentiment, let p = message.sentimentProbability {
                transcript.setSentiment(SentimentClassifier.Result(label: label, probability: p, probabilities: [], scores: [],
                                                                   latencySeconds: 0, truncatedTokens: 0), entry: entry)
            }
        }
        sessionPath = path
        sessionName = chat.name
        systemPrompt = chat.systemPrompt
        if let saved = chat.settings {
            for problem in settings.restore(saved) { transcript.append(.notice, "saved settings: " + problem) }
            sendSettings()
        }
        viewport.followBottom()
        transcript.append(.notice, "Opened \(chat.messages.count) messages from \(path); rebuilding the context…")
        // A chat saved after `/set ctx` comes back at its context: the model is loaded again for it (the
        // load rebuilds the conversation); a context the model cannot give is already what it runs at.
        if let ctx = settings.contextSize, min(ctx, engine.loaded.model.config.trainedContext) != engine.session.cache.contextSize {
            reload(path: nil, contextSize: ctx, chatContext: true)
            pendingLoadOpensChat = pendingLoad != nil
            if pendingLoad != nil { return }
        }
        engine.enqueue(.restore(chat.chatMessages, systemPrompt: chat.systemPrompt))
        busy = true
    }

    func save(to path: String?) {
        let target = path.map { ($0 as NSString).expandingTildeInPath } ?? "qwentty-chat-\(Int(started.timeIntervalSince1970)).md"
        do {
            try AtomicFile.write(currentChat().markdown(), to: target)
            transcript.append(.notice, "Saved the chat to \(target).")
        } catch {
            transcript.append(.notice, "\(error)")
        }
    }

    func copy(_ target: SlashCommand.CopyTarget) {
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
    func saveSession() {
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

    func applyMouse() {
        var old: mmask_t = 0
        mousemask(mouseOn ? qw_wheel_up() | qw_wheel_down() : 0, &old)
    }

    /// Bytes for the terminal itself (mode switches, OSC 52), written past curses after its output.
    func emit(_ sequence: String) {
        refresh()
        var bytes = Array(sequence.utf8)
        _ = bytes.withUnsafeMutableBytes { Foundation.write(1, $0.baseAddress, $0.count) }
    }
}
