import ArgumentParser
import Chat
import Essentials
import Foundation
import Inference
import TerminalUI
import Transformer

/// `qwentty` / `qwentty chat`: the full-screen chat.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Full-screen chat with live streaming, sentiment badges and stats (the default command).",
        discussion: """
        Settings may also come from $XDG_CONFIG_HOME/qwentty/config (default ~/.config/qwentty/config), one \
        `key = value` per line: \(AppConfig.keys.joined(separator: ", ")). Options given here win. \
        Conversations are saved under $XDG_STATE_HOME/qwentty/sessions (default ~/.local/state).
        """
    )

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var threadsOption: ThreadsOption
    @Option(name: [.customShort("c"), .long], help: "Context size in tokens (default 4096, at most the model's).")
    var ctxSize: Int?
    @Option(name: .long, help: "System prompt (default: the model's own).")
    var system: String?
    @Option(name: [.customShort("n"), .long], help: "Most tokens in one reply (default 512).")
    var maxTokens: Int?
    @OptionGroup var sampling: SamplingOptions
    @Option(name: .long, help: "Colour theme: a file name in themes/ without .theme (default: dark).")
    var theme: String?
    @Flag(help: "Continue a saved conversation: the most recent, or the one SESSION names.")
    var resume = false
    @Argument(help: "With --resume: the saved conversation, by number (1 = newest, as /sessions lists them) or by the name /rename gave it.")
    var session: String?
    @Flag(help: "No colours (the NO_COLOR environment variable does the same).")
    var noColor = false
    @Flag(help: "Leave the mouse to the terminal (its own selection works; PgUp/PgDn scroll).")
    var noMouse = false
    @Flag(help: "Do not save the conversation.")
    var noSave = false
    @Flag(help: "Qwen3: answer at once, without thinking first (/think on turns it back on).")
    var noThink = false

    func validate() throws {
        if let ctxSize, !SamplingParameter.contextSize.accepts(Double(ctxSize)) {
            throw ValidationError("-c must be \(SamplingParameter.contextSize.expected)")
        }
        if let maxTokens, !SamplingParameter.maxTokens.accepts(Double(maxTokens)) { throw ValidationError("-n must be \(SamplingParameter.maxTokens.expected)") }
        if session != nil, !resume { throw ValidationError("a saved conversation is opened with --resume NAME (or N)") }
    }

    func run() throws {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw UserFacingError("chat needs a terminal; for scripts use `qwentty run -p TEXT`")
        }
        let environment = ProcessInfo.processInfo.environment
        let configPath = AppConfig.path(environment: environment)
        let config = AppConfig.load(path: configPath)
        var notices = config.problems.map { "config: " + TerminalSanitizer.sanitize($0, keepNewlines: false) }

        let store = SessionStore(environment: environment)
        var resumed: (SavedChat, String)?
        if resume {
            let found: String?
            do {
                found = try session.map { try store.path(for: $0) } ?? store.latestPath()
            } catch {
                throw UserFacingError("\(error)")
            }
            guard let path = found else {
                throw UserFacingError("no saved conversation in \(store.directory) to resume")
            }
            resumed = (try store.load(path), path)
        }

        let path = try modelOption.model ?? config.model ?? modelOption.resolvedPath()
        let quantizeTo = try modelOption.quantization()
        let loaded = try LoadedModel(path: path, threads: threadsOption.threads ?? config.threads, contextSize: ctxSize ?? config.contextSize,
                                     quantizeTo: quantizeTo, cachePrecision: modelOption.cachePrecision(), progress: modelOption.quantizationProgress())
        showLoadProgress(loaded, name: (path as NSString).lastPathComponent)

        // A model folder's generation_config.json gives the defaults; the config file and options win.
        let settings = sampling.settings(defaults: loaded.samplerDefaults, fallback: config.sampling)
        let engine = try Engine(loaded: loaded, samplerSettings: settings, systemPrompt: system ?? config.systemPrompt,
                                maxReplyTokens: maxTokens ?? config.maxTokens ?? 512)

        var chatOptions = ChatController.Options(modelPath: path)
        chatOptions.quantizeTo = quantizeTo
        chatOptions.thinking = !noThink && config.thinking != false
        chatOptions.sessions = noSave ? nil : store
        let cacheBudget = config.contextCacheBudget ?? ContextCacheStore.defaultBudget
        chatOptions.contextCache = noSave || cacheBudget == 0 ? nil : ContextCacheStore(environment: environment, budget: cacheBudget)
        let chat = ChatController(engine: engine, options: chatOptions)
        if let (saved, file) = resumed {
            chat.open(saved, from: file)
            if saved.model != path { notices.append("This conversation was held with \(saved.model); continuing with \(path).") }
        }

        var options = ChatApp.Options()
        if loaded.model.config.name.contains("demo") {
            options.banner = "This is the bundled demo model: its weights are random, so it babbles. For real answers get a Qwen GGUF (README: Getting a real model) and run `qwentty -m FILE`."
        }
        options.themes = ThemeLibrary(environment: environment)
        if let name = theme ?? config.theme {
            do {
                options.theme = try options.themes.load(name)
            } catch {
                notices.append("\(error); using the default theme.")
            }
        } else if let dark = try? options.themes.load("dark") {
            options.theme = dark
        }
        options.noColor = noColor || environment["NO_COLOR"].map { !$0.isEmpty } == true
        options.mouse = !noMouse && config.mouse != false
        options.statsPane = config.statsPane ?? true
        options.notices = notices
        ChatApp(chat: chat, options: options).run()
    }

    /// Pages the weights in with a progress bar on stderr (instant when the file is in the page cache).
    private func showLoadProgress(_ loaded: LoadedModel, name: String) {
        let safeName = TerminalSanitizer.sanitize(name, keepNewlines: false)
        var shown = -1
        loaded.source.touchAllPages { fraction in
            let percent = Int(fraction * 100)
            guard percent != shown else { return }
            shown = percent
            let filled = percent / 5
            writeErr("\rloading \(safeName) ▕" + String(repeating: "█", count: filled) + String(repeating: " ", count: 20 - filled) + "▏ \(percent)%")
        }
        writeErr(String(format: " · %.0f ms\n", loaded.loadSeconds * 1000))
    }
}
