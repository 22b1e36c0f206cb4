import Chat
import Foundation
import Inference
import Kernels
import Essentials
import Transformer

/// `qwentty bench --chat`: a long chat replayed through the chat controller the screen drives (its
/// engine, badges, context trims, saving and the context cache), with a pause between a reply and the
/// next message as a fast typist leaves, then a quit and a resume and one more message. Every turn's time
/// is printed, so anyone can see where a chat pauses: the first turn, a trim, a resume.
extension BenchCommand {
    /// What one message cost, from Enter to the reply's end.
    struct ChatTurn: Encodable {
        let turn: Int
        /// "chat", or "resumed" for the message after the resume.
        let kind: String
        let seconds: Double
        let first_token_ms: Double
        /// Of the wait for the first token, the turn's own prefill (the rest: work it waited for).
        let prefill_ms: Double
        let prompt_tokens: Int
        let reply_tokens: Int
        let context_tokens: Int
        /// The trim the turn carried: messages dropped, tokens taken from the prepared trim, tokens prefilled.
        let trim_dropped_messages: Int?
        let trim_prepared_tokens: Int?
        let trim_prefilled_tokens: Int?
    }

    func runChat() throws {
        let context = ctxSize ?? 1024
        let replyLimit = genTokens.first { $0 > 0 } ?? 64
        let loaded = try LoadedModel(path: modelOption.resolvedPath(), threads: threadsOption.threads, contextSize: context,
                                     quantizeTo: modelOption.quantization(), cachePrecision: modelOption.cachePrecision(),
                                     progress: modelOption.quantizationProgress())
        // The saved chat and its context cache live in a folder of their own, removed at the end.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qwentty-bench-chat-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var options = ChatController.Options(modelPath: loaded.source.path)
        options.sessions = SessionStore(directory: folder + "/sessions")
        options.contextCache = ContextCacheStore(directory: folder + "/contexts")
        var sampler = loaded.samplerDefaults
        sampler.seed = 7
        func controller() throws -> ChatController {
            ChatController(engine: try Engine(loaded: loaded, samplerSettings: sampler, maxReplyTokens: replyLimit), options: options)
        }
        let progress = BenchProgress(tests: turns + 1, repetitions: 1)
        var results: [ChatTurn] = []

        var chat = try controller()
        // The first message goes as soon as the chat is ready, as a user who types at once.
        for turn in 1 ... turns {
            progress.test("turn \(turn)", repetition: 0)
            results.append(try chatTurn(chat, turn: turn, kind: "chat", text: Self.benchMessage(turn)))
            if turn < turns { idle(chat, seconds: gap) }
        }
        idle(chat, seconds: gap)
        let rssBeforeQuit = ProcessMemory.residentBytes
        let sessionPath = chat.sessionPath
        chat.shutdown()

        // Quit and `--resume`: a new engine (the weights stay mapped, as the page cache keeps them for a
        // new process) opens the saved chat, reading its context cache.
        progress.test("resume", repetition: 0)
        let resumeStart = monotonicSeconds()
        chat = try controller()
        guard let sessionPath, let saved = try? SessionStore(directory: folder + "/sessions").load(sessionPath) else {
            throw UserFacingError("the chat was not saved, so it cannot be resumed (\(folder))")
        }
        chat.open(saved, from: sessionPath)
        var rebuilt = ""
        wait(chat) { event in
            if case .notice(let text) = event, text.hasPrefix("Context rebuilt") || text.hasPrefix("The saved context cache") { rebuilt += (rebuilt.isEmpty ? "" : " ") + text }
        } until: { !chat.isBusy }
        let resumeSeconds = monotonicSeconds() - resumeStart
        let rssAfterResume = ProcessMemory.residentBytes
        idle(chat, seconds: gap)
        results.append(try chatTurn(chat, turn: turns + 1, kind: "resumed", text: Self.benchMessage(turns + 1)))
        chat.shutdown()
        progress.done()

        let chatTurns = results.filter { $0.kind == "chat" }.map(\.seconds)
        let median = Self.median(chatTurns)
        let firstTokens = Self.median(results.filter { $0.kind == "chat" && $0.reply_tokens > 0 }.map(\.first_token_ms))
        if json {
            struct Report: Encodable {
                let model: String; let threads: Int; let context: Int; let reply_tokens: Int; let gap_seconds: Double
                let median_turn_seconds: Double; let median_first_token_ms: Double
                let resume_seconds: Double; let resume_note: String
                let rss_before_quit_bytes: Int; let rss_after_resume_bytes: Int
                let turns: [ChatTurn]
            }
            writeOut(try JSONOutput.line(Report(model: loaded.source.path, threads: loaded.pool.threadCount, context: loaded.contextSize,
                                                reply_tokens: replyLimit, gap_seconds: gap, median_turn_seconds: median,
                                                median_first_token_ms: firstTokens, resume_seconds: resumeSeconds, resume_note: rebuilt,
                                                rss_before_quit_bytes: rssBeforeQuit, rss_after_resume_bytes: rssAfterResume, turns: results)))
            return
        }
        let c = loaded.model.config
        writeOut("model: \(TerminalSanitizer.sanitize(c.name, keepNewlines: false)), \(loaded.weightTypeSummary), \(loaded.pool.threadCount) threads, "
                 + "context \(loaded.contextSize), replies up to \(replyLimit) tokens, \(String(format: "%.1f", gap)) s between a reply and the next message\n\n")
        writeOut("| turn | prompt | reply | context | first token | of it, prefill |   turn | vs median | trim |\n")
        writeOut("|-----:|-------:|------:|--------:|------------:|---------------:|-------:|----------:|------|\n")
        for r in results {
            var trim = ""
            if let dropped = r.trim_dropped_messages {
                trim = "\(dropped) messages out; \(r.trim_prepared_tokens ?? 0) tokens prepared, \(r.trim_prefilled_tokens ?? 0) prefilled"
            }
            let name = r.kind == "resumed" ? "\(r.turn) (resumed)" : "\(r.turn)"
            // A reply that ended at once has no first token.
            let first = r.reply_tokens > 0 ? String(format: "%8.0f ms", r.first_token_ms) : "–"
            let prefill = r.reply_tokens > 0 ? String(format: "%11.0f ms", r.prefill_ms) : "–"
            writeOut(String(format: "| %@ | %6d | %5d | %7d | %@ | %@ | %5.2f s | %+8.2f s | %@ |\n", name, r.prompt_tokens,
                            r.reply_tokens, r.context_tokens, first, prefill, r.seconds, r.seconds - median, trim))
        }
        writeOut(String(format: "\nmedian turn %.2f s (first token %.0f ms); resume %.2f s: %@\n", median, firstTokens, resumeSeconds, rebuilt))
        writeOut("RSS before quitting \(formatBytes(Double(rssBeforeQuit))), after resuming \(formatBytes(Double(rssAfterResume)))"
                 + String(format: " (%+.1f %%)\n", (Double(rssAfterResume) / Double(max(1, rssBeforeQuit)) - 1) * 100))
    }

    /// Messages of a coding chat that ask for answers longer than a reply limit, so every turn's reply
    /// runs to it and turns compare like with like.
    static func benchMessage(_ turn: Int) -> String {
        let asks = [
            "Explain in detail how a hash map works, with an example in Swift.",
            "Write a Python function that parses a CSV file of orders and sums the totals per customer, and explain each step.",
            "Now rename the variable totals to revenue everywhere and give me the whole function back.",
            "What are the trade-offs between a linked list and an array? Give several concrete cases.",
            "Describe step by step what happens when I type a URL into a browser and press Enter.",
            "Write a shell script that backs up a folder to a dated tarball and keeps the last seven, with comments.",
            "Explain the difference between processes and threads, and when to use each, in detail.",
            "Refactor this into smaller functions and explain why: def main(): data = open('x').read().split(); print(sum(map(int, data)))",
        ]
        return "(\(turn)) " + asks[(turn - 1) % asks.count]
    }

    /// Sends `text` and waits for its reply to end; the turn's figures.
    private func chatTurn(_ chat: ChatController, turn: Int, kind: String, text: String) throws -> ChatTurn {
        let start = monotonicSeconds()
        try chat.send(text)
        var first: Engine.FirstToken?
        var finished: (GenerationStats, Int)?
        var trim: ChatSession.ContextTrim?
        var failure: String?
        wait(chat) { event in
            switch event {
            case .firstToken(let token): first = token
            case .replyFinished(let stats, let used): finished = (stats, used)
            case .contextTrimmed(let t) where t.seconds != nil: trim = t
            case .replyFailed: failure = "the reply failed"
            case .notice(let text) where text.hasPrefix("error:"): failure = text
            default: break
            }
        } until: { finished != nil || failure != nil }
        if let failure { throw UserFacingError("turn \(turn): \(failure)") }
        let seconds = monotonicSeconds() - start
        return ChatTurn(turn: turn, kind: kind, seconds: seconds, first_token_ms: (first?.waitSeconds ?? 0) * 1000,
                        prefill_ms: (first?.promptSeconds ?? 0) * 1000,
                        prompt_tokens: finished?.0.promptTokens ?? 0, reply_tokens: finished?.0.evalTokens ?? 0,
                        context_tokens: finished?.1 ?? 0, trim_dropped_messages: trim?.droppedMessages,
                        trim_prepared_tokens: trim?.preparedTokens, trim_prefilled_tokens: trim?.prefilledTokens)
    }

    /// The user reads and types: the chat polls for `seconds` (background work runs meanwhile).
    private func idle(_ chat: ChatController, seconds: Double) {
        let end = monotonicSeconds() + seconds
        wait(chat, { _ in }, until: { monotonicSeconds() >= end })
    }

    /// Polls the chat, handing each event to `handle`, until `done` holds.
    private func wait(_ chat: ChatController, _ handle: (ChatController.Event) -> Void, until done: () -> Bool) {
        while !done() {
            var fds = chat.wakeDescriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 10)
            chat.poll()
            chat.takeEvents().forEach(handle)
        }
    }
}
