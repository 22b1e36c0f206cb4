import ArgumentParser
import Foundation
import Inference
import Kernels
import Essentials
import Transformer

/// `qwentty bench`: prefill and decode speed like llama-bench (pp N: one batch of N prompt tokens;
/// tg N: N single-token decode steps, from an empty context or after `--depth` tokens as llama-bench's
/// `-d`), with warm-up, repetitions and medians.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prefill (pp) and decode (tg) speed, llama-bench style."
    )

    @OptionGroup var modelOption: ModelOption
    @Option(name: [.customShort("p"), .long], help: "Prompt tokens for the prefill test, or a list (16,64,512: one test each; 0 skips it).",
            transform: BenchCommand.tokenList)
    var promptTokens: [Int] = [512]
    @Option(name: [.customShort("n"), .long], help: "Tokens for the decode test, or a list (0 skips it).", transform: BenchCommand.tokenList)
    var genTokens: [Int] = [128]
    @Option(name: [.customShort("d"), .long], help: "Tokens already in the context before each test (a long chat's history; 0: empty).")
    var depth = 0
    @OptionGroup var threadsOption: ThreadsOption
    @Option(name: [.customShort("r"), .long], help: "Repetitions (the median is reported).")
    var repetitions = 5
    @Flag(help: "Print JSON instead of a table.")
    var json = false
    @Flag(help: "Measure sentiment latency (20-token message, with and without the prefix cache) and a chat turn's time to first token instead.")
    var sentiment = false
    @Flag(help: "Replay a long chat through the chat itself (badges, trims, saving, the context cache), then quit, resume and send one more: the time of every turn. -n is the reply limit.")
    var chat = false
    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "With --chat: the chat's context size (default 1024).")
    var ctxSize: Int?
    @Option(help: "With --chat: messages before the quit and resume.")
    var turns = 16
    @Option(help: "With --chat: seconds between a reply and the next message (the user reading and typing).")
    var gap = 4.0

    struct Result: Codable {
        let test: String
        let tokens: Int
        let median: Double
        let min: Double
        let max: Double
        let samples: [Double]
    }

    /// The longest context any model file may declare (ModelConfig's bound): no test can need more.
    static let maxTokens = 1 << 20

    /// "512" or "16,64,512" (as llama-bench takes them).
    static func tokenList(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("expected a token count or a comma-separated list of them (16,64,512), got '\(text)'")
        }
        return values
    }

    /// The tests to run, in order: each prefill size, then each decode length (0s skipped).
    private var prefillSizes: [Int] { promptTokens.filter { $0 > 0 } }
    private var decodeLengths: [Int] { genTokens.filter { $0 > 0 } }

    func validate() throws {
        for (flag, value) in [("-p", promptTokens.max() ?? 0), ("-n", genTokens.max() ?? 0), ("-d", depth)] where value > Self.maxTokens {
            throw ValidationError("\(flag) \(value) is more than \(Self.maxTokens) tokens, longer than any model's context")
        }
        guard !(prefillSizes.isEmpty && decodeLengths.isEmpty) else { throw ValidationError("-p and -n must not both be 0") }
        guard repetitions >= 1 else { throw ValidationError("-r must be at least 1") }
        guard depth >= 0 else { throw ValidationError("-d must not be negative") }
        guard turns >= 1, turns <= 10_000 else { throw ValidationError("--turns must be from 1 to 10000") }
        guard gap.isFinite, gap >= 0, gap <= 3600 else { throw ValidationError("--gap must be from 0 to 3600 seconds") }
        if let ctxSize, !(SamplingParameter.minimumContext ... Self.maxTokens).contains(ctxSize) {
            throw ValidationError("-c must be from \(SamplingParameter.minimumContext) to \(Self.maxTokens)")
        }
        guard !(chat && sentiment) else { throw ValidationError("--chat and --sentiment are separate benchmarks: choose one") }
    }

    func run() throws {
        if sentiment { return try runSentiment() }
        if chat { return try runChat() }
        let longest = max(prefillSizes.max() ?? 0, decodeLengths.max() ?? 0)
        let context = depth + longest + 16
        let loaded = try LoadedModel(path: modelOption.resolvedPath(), threads: threadsOption.threads, contextSize: context,
                                     quantizeTo: modelOption.quantization(), cachePrecision: modelOption.cachePrecision(), progress: modelOption.quantizationProgress())
        guard context - 16 <= loaded.contextSize else {
            throw UserFacingError("the tests need \(context - 16) positions (-d + the larger of -p and -n) but this model's context holds \(loaded.contextSize)")
        }
        let model = loaded.model
        let cache = model.makeCache(contextSize: loaded.contextSize)
        // Token values do not change the work done; a fixed pseudo-random sequence avoids any caching luck.
        let vocab = Int32(model.config.vocabularySize)
        var state: UInt32 = 12345
        let prompt: [Int32] = (0 ..< max(longest, depth, 1)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Int32(state >> 8) % vocab
        }

        // Progress on stderr (a run takes minutes; stdout stays the table or the JSON): one line rewritten
        // in place on a terminal, a line per finished test otherwise.
        let progress = BenchProgress(tests: prefillSizes.count + decodeLengths.count, repetitions: repetitions)
        progress.say("warming up (every weight page is read once)")
        // Warm-up: touch every weight page and spin up the pool.
        cache.truncate(to: 0)
        try model.forward(Array(prompt.prefix(8)), cache: cache)
        try model.forward([prompt[0]], cache: cache)

        // The history every test starts from: prefilled once; cutting the cache back to it before each
        // repetition keeps its keys and values (positions below `depth` are never overwritten).
        cache.truncate(to: 0)
        if depth > 0 {
            progress.say("prefilling the \(depth)-token history")
            try model.forward(Array(prompt.prefix(depth)), cache: cache)
        }
        func resetToHistory() { cache.truncate(to: depth) }
        let suffix = depth > 0 ? " @ d\(depth)" : ""

        var results: [Result] = []
        for size in prefillSizes {
            var samples: [Double] = []
            for rep in 0 ..< repetitions {
                progress.test("pp\(size)" + suffix, repetition: rep)
                resetToHistory()
                let start = monotonicSeconds()
                try model.forward(Array(prompt.prefix(size)), cache: cache)
                samples.append(Double(size) / (monotonicSeconds() - start))
            }
            results.append(summary("pp\(size)" + suffix, size, samples))
            progress.finished(results[results.count - 1])
        }
        var regionsPerToken = 0
        for length in decodeLengths {
            var samples: [Double] = []
            for rep in 0 ..< repetitions {
                progress.test("tg\(length)" + suffix, repetition: rep)
                resetToHistory()
                let regionsBefore = loaded.pool.regionCount
                let start = monotonicSeconds()
                for i in 0 ..< length { try model.forward([prompt[i % prompt.count]], cache: cache) }
                samples.append(Double(length) / (monotonicSeconds() - start))
                regionsPerToken = (loaded.pool.regionCount - regionsBefore) / length
            }
            results.append(summary("tg\(length)" + suffix, length, samples))
            progress.finished(results[results.count - 1])
        }
        progress.done()
        let regionMicroseconds = Self.poolRegionCost(loaded.pool)  // after the tests: it runs regions of its own
        let peak = ProcessMemory.peakResidentBytes
        let c = model.config
        if json {
            struct Report: Codable {
                let model: String; let type: String; let file_bytes: Int; let threads: Int; let byte_dot_kernels: String?
                let peak_rss_bytes: Int; let kv_cache_bytes: Int; let pool_region_us: Double; let regions_per_token: Int
                let results: [Result]
            }
            let report = Report(model: loaded.source.path, type: loaded.weightTypeSummary, file_bytes: loaded.source.byteCount,
                                threads: loaded.pool.threadCount, byte_dot_kernels: WeightMatrix.byteDotInstructions, peak_rss_bytes: peak, kv_cache_bytes: cache.byteCount,
                                pool_region_us: regionMicroseconds, regions_per_token: regionsPerToken, results: results)
            writeOut(try JSONOutput.line(report))
            return
        }
        writeOut("model: \(TerminalSanitizer.sanitize(c.name, keepNewlines: false)) (\(c.architecture.rawValue), \(c.layerCount) layers, hidden \(c.hiddenSize)), \(loaded.weightTypeSummary), \(formatBytes(loaded.source.byteCount))\n")
        writeOut("threads: \(loaded.pool.threadCount) (" + String(format: "%.2f", regionMicroseconds) + " µs per parallel region"
                 + (regionsPerToken > 0 ? ", \(regionsPerToken) regions per decoded token" : "") + "), kernels: "
                 + (WeightMatrix.byteDotInstructions.map { "\($0) byte-dot" } ?? "portable SIMD") + ", repetitions: \(repetitions), peak RSS: \(formatBytes(peak)) (KV cache \(formatBytes(cache.byteCount)))\n\n")
        let width = max(6, results.map(\.test.count).max() ?? 0)
        writeOut("| " + "test".padding(toLength: width, withPad: " ", startingAt: 0) + " |     t/s (median) |        min – max |\n"
                 + "|" + String(repeating: "-", count: width + 2) + "|-----------------:|-----------------:|\n")
        for r in results {
            let name = r.test.padding(toLength: width, withPad: " ", startingAt: 0)
            writeOut("| \(name) | " + String(format: "%16.2f | %7.2f – %6.2f |\n", r.median, r.min, r.max))
        }
    }

    /// Median cost of one empty parallel region on the pool, in microseconds: the fixed price of each
    /// of the ~170 mat-muls and attention steps in a decoded token.
    static func poolRegionCost(_ pool: ThreadPool) -> Double {
        let regions = 4_000
        var samples: [Double] = []
        for _ in 0 ..< 5 {
            let start = monotonicSeconds()
            for _ in 0 ..< regions { pool.run { _, _ in } }
            samples.append((monotonicSeconds() - start) / Double(regions) * 1e6)
        }
        return median(samples)
    }

    private func summary(_ test: String, _ tokens: Int, _ samples: [Double]) -> Result {
        let sorted = samples.sorted()
        return Result(test: test, tokens: tokens, median: Self.median(samples), min: sorted.first ?? 0, max: sorted.last ?? 0, samples: samples)
    }

    /// The median (of an even count, the mean of the two middle values); 0 for none.
    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
