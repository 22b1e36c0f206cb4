import CCurses
import Chat
import Foundation

/// The slash commands, as calls on the chat controller (the conversation's owner) or changes to the screen.
extension ChatApp {

    func perform(_ command: SlashCommand, draft: String) {
        switch command {
        case .help: showHelp = true
        case .quit: running = false
        case .clear: attempt(draft: draft) { try chat.clear() }
        case .system(nil): note(chat.systemPromptDescription)
        case .system(.some(let prompt)): attempt(draft: draft) { try chat.setSystemPrompt(prompt) }
        case .regenerate: attempt(draft: draft) { try chat.regenerate() }
        case .continueReply: attempt(draft: draft) { try chat.continueReply() }
        case .set(nil), .show: note(chat.settingsDescription)
        case .set(.some(let setting)): attempt(draft: draft) { try chat.set(setting.key, setting.value) }
        case .edit:
            attempt(draft: draft) {
                if let text = try chat.edit() { editor.insert(text) }
            }
        case .save(let path):
            chat.export(to: path)
            applyChatEvents()
        case .sessions: attempt(draft: draft) { try chat.listSessions() }
        case .load(let selector): attempt(draft: draft) { try chat.openSession(selector) }
        case .rename(let name): attempt(draft: draft) { try chat.rename(name) }
        case .delete(let selector): attempt(draft: draft) { try chat.deleteSession(selector) }
        case .copy(let target): copy(target)
        case .theme(nil):
            note("Themes: " + options.themes.names().joined(separator: ", ") + " (current: \(theme.name)). /theme NAME switches.")
        case .theme(.some(let name)):
            do {
                theme = try options.themes.load(name)
                palette = CursesPalette(theme: theme, depth: palette?.terminalDepth ?? .mono)
                note("Theme: \(name)" + (palette?.depth == .mono ? " (this terminal shows no colour)" : ""))
            } catch {
                note("\(error); keeping \(theme.name).")
            }
        case .stats:
            showPane.toggle()
            if showPane, Int(qw_cols()) < Self.paneMinimumColumns {
                let rows = stats.rows().map { "\($0.label) \($0.value)" }.joined(separator: " · ")
                note("Stats (the pane needs \(Self.paneMinimumColumns) columns): " + rows)
            }
        case .model(nil): note(chat.modelDescription)
        case .model(.some(let path)): attempt(draft: draft) { try chat.loadModel(path: path) }
        case .mouse:
            mouseOn.toggle()
            applyMouse()
            note(mouseOn ? "Mouse capture on: the wheel scrolls (Shift+drag selects in most terminals)." : "Mouse capture off: the terminal's own selection works; PgUp/PgDn scroll.")
        case .think(let setting):
            think(setting)
        case .unknown(let name):
            note("Unknown command \(name): /help lists them (start a message with // to send a literal /).")
        case .invalid(let message):
            note(message)
            editor.insert(draft)
        }
    }

    /// `/think`: whether a Qwen3 model thinks before answering (from the next reply on), and whether its
    /// thinking is shown unfolded.
    func think(_ setting: SlashCommand.ThinkSetting?) {
        switch setting {
        case .on?, .off?:
            chat.setThinking(setting == .on)
            applyChatEvents()
        case .show?, .hide?:
            transcript.showsReasoning = setting == .show
            note(transcript.showsReasoning ? "Thinking is shown unfolded (dimmed)." : "Thinking is folded to one line.")
        case nil:
            guard chat.supportsThinking else {
                note("This model's chat template has no think blocks (Qwen3's have).")
                return
            }
            note("Thinking \(chat.settings.thinking ? "on" : "off"), shown \(transcript.showsReasoning ? "unfolded" : "folded") (/think on|off|show|hide).")
        }
    }

    func copy(_ target: SlashCommand.CopyTarget) {
        // What a reply says (a Qwen3 reply's thinking is not part of it), as written.
        let replies = chat.conversation.messages.filter { $0.role == .assistant && !$0.answer.isEmpty }
        let text: String?
        switch target {
        case .reply(let n): text = n <= replies.count ? replies[replies.count - n].answer : nil
        case .code: text = replies.reversed().lazy.compactMap { MarkdownStream.codeBlocks(in: $0.answer).last }.first
        }
        guard let text else {
            note(target == .code ? "No code block to copy yet." : "No such reply to copy.")
            return
        }
        guard text.utf8.count <= Clipboard.maximumBytes else {
            note("Too long for the terminal clipboard (\(text.utf8.count) bytes); /save exports it instead.")
            return
        }
        emit(Clipboard.sequence(copying: text, insideTmux: ProcessInfo.processInfo.environment["TMUX"] != nil))
        note("Copied \(text.count) characters (OSC 52: your terminal must allow clipboard access).")
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
