import Foundation
import Chat
import TestSupport
import XCTest

/// The chat screen driven in tmux, as a person would: 80×24, type, watch, cancel, resize, quit.
final class ChatScreenTests: XCTestCase {
    private let terminal = TmuxSession(name: "qwentty-e2e-\(getpid())")
    private var session: String { terminal.name }
    @discardableResult
    private func tmux(_ arguments: [String]) throws -> String { try terminal.tmux(arguments) }
    private func waitFor(_ what: String, seconds: Double = 180, _ condition: (String) -> Bool) throws -> String {
        try terminal.waitFor(what, seconds: seconds, condition)
    }
    private func start(_ arguments: String, environment: String, width: Int = 80, height: Int = 24) throws {
        try terminal.start(arguments, environment: environment, width: width, height: height)
    }
    private func type(_ text: String) throws { try terminal.type(text) }

    /// A scratch home for the test's config and sessions; the tmux server and the folder go at teardown.
    private func scratchHome(_ name: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("needs tmux (/usr/bin/tmux); .ci/run installs it")
        }
        let home = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-\(name)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: home + "/config/qwentty", withIntermediateDirectories: true)
        addTeardownBlock { [terminal] in
            _ = try? terminal.tmux(["kill-server"])
            try? FileManager.default.removeItem(atPath: home)
        }
        return home
    }

    /// A bracketed paste with invalid UTF-8 keeps every valid character: each invalid run shows as
    /// U+FFFD where it stands, in the input and in the message sent.
    func testAPasteWithInvalidUTF8KeepsEveryValidCharacter() throws {
        let home = try scratchHome("e2e-bytes")
        try start("--no-save", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config", width: 100, height: 30)
        _ = try waitFor("the chat") { $0.contains("Enter sends") }
        let file = home + "/paste.bin"
        let bytes: [UInt8] = Array("hello ".utf8) + [0xFF, 0xFE, 0xC3] + Array(" world ".utf8) + [0xE2, 0x82] + Array(" end".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        try tmux(["load-buffer", file])
        try tmux(["paste-buffer", "-p", "-t", session])
        _ = try waitFor("the whole paste in the input") { $0.contains("› hello \u{FFFD}\u{FFFD}\u{FFFD} world \u{FFFD} end") }
        try tmux(["send-keys", "-t", session, "Enter"])
        _ = try waitFor("the whole message sent") { $0.contains("  hello \u{FFFD}\u{FFFD}\u{FFFD} world \u{FFFD} end") && $0.contains("qwen") }
    }

    /// A crash (the test's hook makes the chat trap, as a bug in Swift code would) leaves a usable
    /// terminal: not in the alternate screen, cursor shown, mouse reporting off, the tty modes back (a
    /// line typed into the shell afterwards echoes and is read), and one line saying where the chat is.
    func testACrashRestoresTheTerminal() throws {
        let home = try scratchHome("e2e-crash")
        let store = SessionStore(environment: ["XDG_STATE_HOME": home + "/state"])
        try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true)
        let saved = ["format": 2, "model": "m.gguf", "created": "2026-01-01T00:00:00Z",
                     "messages": [["role": "user", "content": "hello"], ["role": "assistant", "content": "hi"]]] as [String: Any]
        let path = store.newPath(startedAt: Date())
        try store.save(try SavedChat(json: try JSONSerialization.data(withJSONObject: saved)), to: path)
        let binary = Bundle.main.bundleURL.appendingPathComponent("qwentty").path
        try tmux(["kill-session", "-t", session])
        try tmux(["new-session", "-d", "-s", session, "-x", "100", "-y", "30", "-c", TestPaths.packageRoot.path,
                  "env XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config QWENTTY_DEBUG_CRASH=1 TERM=xterm-256color "
                      + "\(binary) chat --resume; echo QWENTTY-EXITED $?; read -r line; echo \"READ[$line]\"; sleep 60"])
        try tmux(["set-option", "-s", "exit-empty", "off"])
        let after = try waitFor("the crash") { $0.contains("QWENTTY-EXITED") }
        // The line wraps at the pane's width: read it with the screen's lines joined.
        XCTAssertTrue(after.replacingOccurrences(of: "\n", with: "").contains("qwentty crashed; the terminal was restored. The chat is saved in \(path)"), after)
        XCTAssertFalse(after.contains("QWENTTY-EXITED 0"), "it did crash")
        let flags = try tmux(["display-message", "-p", "-t", session, "#{alternate_on} #{cursor_flag} #{mouse_any_flag}"])
        XCTAssertEqual(flags.trimmingCharacters(in: .whitespacesAndNewlines), "0 1 0", "alternate screen, cursor, mouse")
        try type("typed after")
        _ = try waitFor("the shell to read the line") { $0.contains("READ[typed after]") }
    }

    func testChatInTmux() throws {
        let home = try scratchHome("e2e")
        let environment = "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config"
        // The test runner sets NO_COLOR; the first run goes without it to see the theme's colours.
        try start("--seed 1", environment: "-u NO_COLOR " + environment)
        try tmux(["set", "-g", "set-clipboard", "on"])

        _ = try waitFor("the start screen") { $0.contains("Enter sends") && $0.contains("demo model") }
        // The dark theme in xterm's 256 colours: the notice colour #D7AF5F is palette entry 179.
        let colours = try tmux(["capture-pane", "-e", "-p", "-t", session])
        XCTAssertTrue(colours.contains("\u{1B}[38;5;179m"), "theme colours reach the terminal: \(colours.debugDescription.prefix(300))")
        try type("Hello there")
        // The user's badge, the streamed reply and the stats line.
        var s = try waitFor("a sentiment badge and a reply") { $0.contains("you  [") && $0.contains("qwen") && $0.contains("eval rate") }
        XCTAssertTrue(s.contains("Hello there"))
        s = try waitFor("the reply to finish", seconds: 120) { !$0.contains("●") && $0.contains("first token") && $0.contains("qwen (token limit)  [") }
        XCTAssertTrue(s.contains("512-token limit"), "the limit is named, with how to raise it: \(s)")
        XCTAssertTrue(s.contains("prompt eval"), s)

        // Cancel a reply with Esc: it is marked as cut. The demo model streams ~4 000 tokens a second, so a
        // 512-token reply can be over between two looks at the screen (0.2 s apart): this one may run to
        // 3 000 tokens, long enough to be seen streaming.
        try type("/set max_tokens 3000")
        _ = try waitFor("the longer reply limit") { $0.contains("Set max_tokens = 3000.") }
        try type("Tell me more")
        _ = try waitFor("the second reply to stream") { $0.contains("●") && $0.components(separatedBy: "qwen").count > 2 }
        try tmux(["send-keys", "-t", session, "Escape"])
        s = try waitFor("the cut marker") { $0.contains("(cut)") && !$0.contains("●") }
        try type("/set max_tokens 512")
        _ = try waitFor("the reply limit back") { $0.contains("Set max_tokens = 512.") }

        // Alt+Enter starts a new line in the input instead of sending.
        try tmux(["send-keys", "-t", session, "-l", "line a"])
        try tmux(["send-keys", "-t", session, "M-Enter"])
        try tmux(["send-keys", "-t", session, "-l", "line b"])
        _ = try waitFor("a two-line input") { $0.contains("› line a") && $0.contains("  line b") }
        try tmux(["send-keys", "-t", session, "C-u", "BSpace", "C-u"])
        _ = try waitFor("the input cleared") { !$0.contains("line a") }

        // A bracketed paste: its line break goes into the input, nothing is sent until Enter.
        try tmux(["set-buffer", "-b", "paste", "first pasted line\nsecond pasted line"])
        try tmux(["paste-buffer", "-p", "-b", "paste", "-t", session])
        s = try waitFor("the pasted text in the input") { $0.contains("› first pasted line") && $0.contains("  second pasted line") }
        try tmux(["send-keys", "-t", session, "Enter"])
        s = try waitFor("the pasted message sent and answered") { !$0.contains("› first pasted line") && !$0.contains("●") }

        // The 16-colour theme speaks ANSI colour numbers even to this 256-colour terminal: the notice
        // colour is ESC[33m (yellow), not a 256-colour approximation.
        try type("/theme 16-colour")
        _ = try waitFor("the theme switch") { $0.contains("Theme: 16-colour") }
        let ansi = try tmux(["capture-pane", "-e", "-p", "-t", session])
        XCTAssertTrue(ansi.contains("\u{1B}[33m"), "ANSI yellow for notices: \(ansi.debugDescription.prefix(400))")
        XCTAssertFalse(ansi.contains("\u{1B}[38;5;"), "no 256-colour numbers: \(ansi.debugDescription.prefix(400))")
        try type("/theme dark")
        _ = try waitFor("the theme back to dark") { $0.contains("Theme: dark") }

        // /copy puts the reply on the clipboard (OSC 52; tmux stores it as a buffer).
        try tmux(["set-buffer", "sentinel"])
        try type("/copy")
        _ = try waitFor("the copy notice") { $0.contains("Copied ") }
        XCTAssertNotEqual(try tmux(["show-buffer"]), "sentinel", "OSC 52 reached tmux")

        // /save writes a markdown export.
        let export = home + "/chat.md"
        try type("/save \(export)")
        _ = try waitFor("the save notice") { $0.contains("Saved the chat to") }
        let markdown = try String(contentsOfFile: export, encoding: .utf8)
        XCTAssertTrue(markdown.contains("## You · ") && markdown.contains("> Hello there"), markdown)
        XCTAssertTrue(markdown.contains("> first pasted line\n> second pasted line"), markdown)

        // The mouse wheel scrolls: the bytes an xterm sends for wheel up / down (SGR mouse encoding).
        try tmux(["send-keys", "-t", session, "-H", "1b", "5b", "3c", "36", "34", "3b", "35", "3b", "35", "4d"])
        _ = try waitFor("the wheel to scroll up") { $0.contains("↑3") }
        try tmux(["send-keys", "-t", session, "-H", "1b", "5b", "3c", "36", "35", "3b", "35", "3b", "35", "4d"])
        _ = try waitFor("the wheel to scroll back down") { !$0.contains("↑") }

        // Help overlay: F1 opens it, any key closes it.
        try tmux(["send-keys", "-t", session, "F1"])
        _ = try waitFor("the help overlay") { $0.contains("qwentty help") && $0.contains("/copy [N|code]") }
        try tmux(["send-keys", "-t", session, "x"])
        _ = try waitFor("the help to close") { !$0.contains("qwentty help") }

        // Too small, then enlarged again: a message, then the chat comes back, now with the stats pane.
        try tmux(["resize-window", "-t", session, "-x", "30", "-y", "6"])
        s = try waitFor("the too-small message") { $0.contains("Terminal too small") }
        XCTAssertTrue(s.contains("40×8."), "the whole message, wrapped at words: \(s)")
        try tmux(["resize-window", "-t", session, "-x", "110", "-y", "30"])
        s = try waitFor("the chat and the stats pane after enlarging") { $0.contains("pasted line") && $0.contains("eval rate") && $0.contains("peak RSS") }

        // Ctrl-D quits cleanly: the process exits 0 and the shell line shows.
        try tmux(["send-keys", "-t", session, "C-d"])
        s = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
        // The terminal is restored: the pane has left the alternate screen curses drew on. (Its primary
        // screen may still show lines tmux reflowed into it across the resizes above, so no text check.)
        XCTAssertEqual(try tmux(["display-message", "-p", "-t", session, "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0")

        // The conversation was saved: --resume brings it back. A bad config line is reported, not fatal.
        try "theme = nosuch\nmouse = sometimes\n".write(toFile: home + "/config/qwentty/config", atomically: false, encoding: .utf8)
        try start("--resume --seed 2", environment: environment, width: 220, height: 50)
        s = try waitFor("the resumed conversation") { $0.contains("Context rebuilt") }
        XCTAssertTrue(s.contains("Opened 6 messages"), s)
        XCTAssertTrue(s.contains("theme nosuch: no nosuch.theme found"), s)
        XCTAssertTrue(s.contains("mouse: expected on or off, got sometimes"), s)
        let mono = try tmux(["capture-pane", "-e", "-p", "-t", session])
        XCTAssertFalse(mono.contains("\u{1B}[38;"), "NO_COLOR (set by the test runner here): no colour at all")
        // Sessions by name: /rename, /sessions lists it, and `--resume NAME` opens it again.
        try type("/rename work")
        _ = try waitFor("the rename") { $0.contains("This chat is named work") }
        try type("/sessions")
        s = try waitFor("the list of saved chats") { $0.contains("Saved chats, newest first") }
        XCTAssertTrue(s.contains("1. ") && s.contains("work · 3 turns · Hello there (this chat)"), s)
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit after resuming") { $0.contains("QWENTTY-EXITED 0") }
        try start("--resume work --seed 3", environment: environment, width: 220, height: 50)
        s = try waitFor("the chat opened by name") { $0.contains("Context rebuilt") }
        XCTAssertTrue(s.contains("Opened 6 messages"), s)
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit after resuming by name") { $0.contains("QWENTTY-EXITED 0") }
    }

    /// A context too small for the conversation: the chat goes on, the oldest messages leave the model's
    /// context, and the transcript says so.
    func testFullContextIsTrimmedAndTheChatGoesOn() throws {
        let home = try scratchHome("e2e-trim")
        try start("-c 256 -n 48 --seed 1", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config",
                  width: 100, height: 40)
        _ = try waitFor("the start screen") { $0.contains("Enter sends") }
        for i in 1 ... 6 {
            try type("question \(i)")
            // The message is in the transcript (not the input line) and its reply has finished.
            _ = try waitFor("the reply to question \(i)") { $0.contains("question \(i)") && !$0.contains("› question") && !$0.contains("●") }
        }
        let s = try waitFor("the trim notice") { $0.contains("The context was full") }
        XCTAssertTrue(s.contains("oldest"), s)
        XCTAssertFalse(s.contains("error:"), s)
        XCTAssertFalse(s.contains("/clear starts"), "the chat did not end: \(s)")
        // /system shows the model's own default prompt in full.
        try type("/system")
        _ = try waitFor("the default system prompt") { $0.contains("(the model's own default): You are Qwen") }
        // /set changes the reply limit; /continue goes on with the last reply, which ends at the new limit.
        try type("/set max_tokens 8")
        _ = try waitFor("the setting confirmed") { $0.contains("Set max_tokens = 8.") }
        try type("/continue")
        _ = try waitFor("the continued reply to stop at the new limit") { $0.contains("at the 8-token limit") && !$0.contains("●") }
        // The setting is saved with the chat: a resumed chat samples as it did.
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
        try start("--resume", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config", width: 100, height: 40)
        _ = try waitFor("the resumed chat") { $0.contains("Context rebuilt") }
        try type("/show")
        _ = try waitFor("the saved setting back") { $0.contains("max_tokens 8 · ctx 4096") }
        // /set ctx reloads with another context and rebuilds the conversation on it; /model switches file
        // (a file that does not load changes nothing).
        try type("/set ctx 512")
        _ = try waitFor("the new context") { $0.contains("context 512 tokens") && $0.contains("/ 512") }
        try type("/model /nonexistent.gguf")
        _ = try waitFor("the refused switch") { $0.contains("keeping ") }
        try type("/model Tests/Fixtures/tiny-qwen3-q8_0.gguf")
        _ = try waitFor("the switched model") { $0.contains("Model tiny random qwen3") && $0.contains("arch        qwen3") }
        try type("after the switch")
        _ = try waitFor("a reply from the new model") { $0.contains("after the switch") && !$0.contains("› after") && !$0.contains("●") }
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
        // The chat's context is saved with it: resumed on a run at 4096, the model is loaded again at 512
        // (on its own thread) and the conversation rebuilt there.
        try start("--resume", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config", width: 100, height: 40)
        let resumed = try waitFor("the chat at its own context") { $0.contains("context 512 tokens") && $0.contains("Context rebuilt") }
        XCTAssertTrue(resumed.contains("with a 512-token context"), resumed)
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
    }

    /// A Qwen3 chat whose reply thought first (saved, since the tiny model never opens a think block on
    /// its own): the reasoning is one folded, dimmed line and the answer the reply; `/think show` unfolds
    /// it, `/think off` turns thinking off for the next reply, and the chat is rebuilt on Qwen3's template.
    func testThinkingIsFoldedAndSwitched() throws {
        let home = try scratchHome("e2e-think")
        let model = TestPaths.fixture("tiny-qwen3-q8_0.gguf")
        let saved = ["format": 2, "model": model, "created": "2026-01-01T00:00:00Z", "messages": [
            ["role": "user", "content": "Why is the sky blue?"],
            ["role": "assistant", "content": "<think>\nThe user asks about Rayleigh scattering.\n</think>\n\nBecause air scatters blue light most."],
        ]] as [String: Any]
        let chat = try SavedChat(json: try JSONSerialization.data(withJSONObject: saved))
        let store = SessionStore(environment: ["XDG_STATE_HOME": home + "/state"])
        try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true)
        try store.save(chat, to: store.newPath(startedAt: Date()))

        try start("-m \(model) --resume", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config",
                  width: 100, height: 30)
        var s = try waitFor("the folded thinking") { $0.contains("Context rebuilt") && $0.contains("▸ thought: 6 words (/think show unfolds)") }
        XCTAssertTrue(s.contains("Because air scatters blue light most."), s)
        XCTAssertFalse(s.contains("Rayleigh"), "folded: the reasoning is not shown")
        XCTAssertFalse(s.contains("<think>"), "the tags are not shown either")
        try type("/think show")
        s = try waitFor("the unfolded thinking") { $0.contains("▾ thought: 6 words") && $0.contains("The user asks about Rayleigh scattering.") }
        try type("/think off")
        _ = try waitFor("thinking off") { $0.contains("Thinking off: the model answers at once") }
        try type("/think")
        _ = try waitFor("the state") { $0.contains("Thinking off, shown unfolded") }
        try type("And at sunset?")
        _ = try waitFor("a reply") { $0.contains("And at sunset?") && !$0.contains("› And") && !$0.contains("●") }
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
        // Saved with the chat: the resumed chat still has thinking off.
        try start("-m \(model) --resume", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config",
                  width: 100, height: 30)
        _ = try waitFor("the resumed chat") { $0.contains("Context rebuilt") }
        try type("/think")
        _ = try waitFor("thinking still off") { $0.contains("Thinking off, shown folded") }
        try tmux(["send-keys", "-t", session, "C-d"])
        _ = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
    }

    /// Hostile input: pasted text holding the paste-end marker and a CR does not send the message, and a
    /// `kill -INT` leaves through the normal exit (terminal restored, bracketed paste off).
    func testPasteInjectionAndKillINT() throws {
        let home = try scratchHome("e2e-hostile")
        try start("--seed 1", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config", width: 100, height: 30)
        _ = try waitFor("the start screen") { $0.contains("Enter sends") }
        // What a terminal sends for a paste of "safe␛[201~\rinjected": the inner end marker and CR are text.
        try tmux(["send-keys", "-t", session, "-l", "\u{1B}[200~safe text\u{1B}[201~\rinjected\u{1B}[201~"])
        var s = try waitFor("the paste in the input") { $0.contains("injected") }
        XCTAssertTrue(s.contains("› safe text"), "the paste stays in the input: \(s)")
        XCTAssertFalse(s.contains("you  ["), "nothing was sent: \(s)")
        try tmux(["send-keys", "-t", session, "C-u", "BSpace", "C-u"])
        _ = try waitFor("the input cleared") { !$0.contains("safe text") }

        let pid = try XCTUnwrap(try terminal.programPID(), "qwentty's pid")
        kill(pid, SIGINT)
        s = try waitFor("a clean exit after SIGINT") { $0.contains("QWENTTY-EXITED 0") }
        XCTAssertEqual(try tmux(["display-message", "-p", "-t", session, "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0")
        // With bracketed paste still on, a paste now would arrive wrapped in ESC[200~ … ESC[201~, which the
        // shell's `sleep` lets the tty echo as ^[[200~.
        try tmux(["set-buffer", "-b", "probe", "PROBE"])
        try tmux(["paste-buffer", "-p", "-b", "probe", "-t", session])
        s = try waitFor("the probe paste echoed") { $0.contains("PROBE") }
        XCTAssertFalse(s.contains("[200~"), "bracketed paste was left on: \(s)")
    }
}
