import ArgumentParser
import Foundation
import Inference
import TerminalUI

/// `qwentty` / `qwentty chat`: the full-screen chat.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Full-screen chat with live streaming, sentiment badges and stats (the default command)."
    )

    @OptionGroup var modelOption: ModelOption
    @OptionGroup var threadsOption: ThreadsOption
    @Option(name: [.customShort("c"), .long], help: "Context size in tokens (default 4096, at most the model's).")
    var ctxSize: Int?
    @Option(name: .long, help: "System prompt (default: the model's own).")
    var system: String?
    @Option(name: .long, help: "Temperature; 0 is greedy.")
    var temp: Float = 0.7
    @Option(name: .long, help: "Random seed (default: random).")
    var seed: UInt64?
    @Flag(help: "No colours (the NO_COLOR environment variable does the same).")
    var noColor = false

    func run() throws {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw UserFacingError("chat needs a terminal; for scripts use `qwentty run -p TEXT`")
        }
        let path = try modelOption.resolvedPath()
        writeErr("loading \(path)…\n")
        let loaded = try LoadedModel(path: path, threads: threadsOption.threads, contextSize: ctxSize)
        var settings = SamplerSettings()
        settings.temperature = temp
        settings.seed = seed ?? UInt64.random(in: 0 ... UInt64(UInt32.max))
        let engine = try Engine(loaded: loaded, samplerSettings: settings, systemPrompt: system)
        let isDemo = loaded.model.config.name.contains("demo")
        let banner = isDemo
            ? "This is the bundled demo model: its weights are random, so it babbles. For real answers get a Qwen GGUF (README: Getting a real model) and run `qwentty -m FILE`."
            : nil
        let color = !noColor && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        ChatApp(engine: engine, banner: banner, useColor: color).run()
    }
}
