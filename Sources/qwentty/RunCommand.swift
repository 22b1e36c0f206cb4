import ArgumentParser
import Foundation
import Inference
import Essentials
import Kernels
import Tokenizer
import Transformer

/// `qwentty run`: one prompt in, the streamed reply out.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate a reply to one prompt and stream it to stdout."
    )

    @OptionGroup var modelOption: ModelOption
    @Option(name: [.customShort("p"), .long], help: "The prompt (a user message unless --raw).")
    var prompt: String
    @Flag(help: "Feed the prompt as is, without the chat template (control tokens in it are parsed).")
    var raw = false
    @Option(name: .long, help: "System prompt (default: the model's own).")
    var system: String?
    @Option(name: [.customShort("n"), .long], help: "Maximum tokens to generate.")
    var maxTokens = 256
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var threadsOption: ThreadsOption
    @Option(name: [.customShort("c"), .long], help: "Context size in tokens (default 4096, at most the model's).")
    var ctxSize: Int?
    @Flag(help: "One JSON object per token, then a stats line.")
    var json = false
    @Option(help: "With --json: how many top alternatives to report per token.")
    var logprobs = 0
    @Flag(help: "Qwen3: disable thinking (adds an empty think block).")
    var noThink = false

    func validate() throws {
        if let ctxSize, !SamplingParameter.contextSize.accepts(Double(ctxSize)) {
            throw ValidationError("-c must be \(SamplingParameter.contextSize.expected)")
        }
        guard maxTokens >= 0 else { throw ValidationError("-n must be 0 or more") }
        guard logprobs >= 0, logprobs <= 100 else { throw ValidationError("--logprobs must be between 0 and 100") }
    }

    func run() throws {
        let loaded = try LoadedModel(path: modelOption.resolvedPath(), threads: threadsOption.threads, contextSize: ctxSize,
                                     quantizeTo: modelOption.quantization(), cachePrecision: modelOption.cachePrecision(), progress: modelOption.quantizationProgress())
        let settings = sampling.settings(defaults: loaded.samplerDefaults)
        var sampler = Sampler(settings: settings)

        let promptTokens: [Int32]
        if raw {
            promptTokens = loaded.tokenizer.encode(prompt, parseSpecial: true)
        } else {
            guard let template = loaded.template else {
                throw UserFacingError("\(loaded.source.path): the model has no chat format (<|im_start|>/<|im_end|> tokens); use --raw")
            }
            if let warning = template.warning { writeErr("qwentty: \(TerminalSanitizer.sanitize(warning, keepNewlines: false))\n") }
            var messages: [ChatTurn] = []
            if let system { messages.append(ChatTurn(role: .system, content: system)) }
            messages.append(ChatTurn(role: .user, content: prompt))
            promptTokens = template.render(messages, addGenerationPrompt: true, thinking: !noThink)
        }
        guard !promptTokens.isEmpty else { throw UserFacingError("the prompt is empty") }
        guard promptTokens.count < loaded.contextSize else {
            throw UserFacingError("the prompt is \(promptTokens.count) tokens but the context holds \(loaded.contextSize); shorten it or raise --ctx-size (model maximum \(loaded.model.config.trainedContext))")
        }

        let cache = loaded.model.makeCache(contextSize: loaded.contextSize)
        let result = try loaded.generator.generate(prompt: promptTokens, cache: cache, sampler: &sampler,
                                                   maxTokens: maxTokens, alternatives: json ? logprobs : 0) { event in
            if json {
                guard let sample = event.sample else { return true }
                let line = TokenLine(id: sample.id, text: event.text, logprob: JSONNumber(sample.logprob),
                                     top: sample.top.map { .init(id: $0.id, logprob: JSONNumber($0.logprob)) })
                if let text = try? JSONOutput.line(line) { writeOut(text) }
            } else {
                writeOut(TerminalSanitizer.sanitize(event.text))
            }
            return true
        }
        let s = result.stats
        if json {
            let ms = { (seconds: Double) in JSONNumber(seconds * 1000, decimals: 2) }
            writeOut(try JSONOutput.line(DoneLine(done: true, stats: .init(
                prompt_tokens: s.promptTokens, prompt_ms: ms(s.promptSeconds),
                prompt_tokens_per_s: JSONNumber(s.promptTokensPerSecond, decimals: 2), eval_tokens: s.evalTokens,
                eval_ms: ms(s.evalSeconds), eval_tokens_per_s: JSONNumber(s.evalTokensPerSecond, decimals: 2),
                time_to_first_token_ms: ms(s.timeToFirstToken), stop: s.stopReason.rawValue, seed: settings.seed,
                threads: loaded.pool.threadCount, load_ms: ms(loaded.loadSeconds)))))
        } else {
            writeOut("\n")
            writeErr(String(format: "\nprompt eval: %d tokens, %.1f ms, %.1f tok/s | eval: %d tokens, %.1f ms, %.1f tok/s | first token %.1f ms | stop: %@ | seed %llu | threads %d\n",
                            s.promptTokens, s.promptSeconds * 1000, s.promptTokensPerSecond, s.evalTokens, s.evalSeconds * 1000,
                            s.evalTokensPerSecond, s.timeToFirstToken * 1000, s.stopReason.rawValue, settings.seed, loaded.pool.threadCount))
        }
    }

    /// One generated token of `--json`.
    private struct TokenLine: Encodable {
        struct Alternative: Encodable { let id: Int32; let logprob: JSONNumber }
        let id: Int32
        let text: String
        let logprob: JSONNumber
        let top: [Alternative]
    }

    /// The last line of `--json`.
    private struct DoneLine: Encodable {
        struct Stats: Encodable {
            let prompt_tokens: Int, prompt_ms: JSONNumber, prompt_tokens_per_s: JSONNumber
            let eval_tokens: Int, eval_ms: JSONNumber, eval_tokens_per_s: JSONNumber
            let time_to_first_token_ms: JSONNumber, stop: String, seed: UInt64, threads: Int, load_ms: JSONNumber
        }
        let done: Bool
        let stats: Stats
    }
}
