import Foundation
import Inference
import Kernels
import Tokenizer

/// `qwentty bench --sentiment`: what a badge costs and what it does to a chat turn, measured through the
/// real `Engine` (its queue, priorities and interruption), as the chat screen drives it.
extension BenchCommand {
    func runSentiment() throws {
        let loaded = try LoadedModel(path: modelOption.resolvedPath(), threads: threadsOption.threads, quantizeTo: modelOption.quantization(), cachePrecision: modelOption.cachePrecision(), progress: modelOption.quantizationProgress())
        guard let template = loaded.template else { throw UserFacingError("the model has no chat format") }
        let classifier = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template)
        // Grow natural sentences to exactly 20 (a badge) and 30 tokens (a chat turn) under this model's tokenizer.
        func sentence(tokens: Int) -> String {
            let words = """
                honestly the new update made the app so much faster and I really enjoy using it every single day now, \
                especially when I open long files over a slow connection at night
                """.split(separator: " ")
            var text = ""
            for word in words where loaded.tokenizer.encode(text + (text.isEmpty ? "" : " ") + word).count <= tokens {
                text += (text.isEmpty ? "" : " ") + word
            }
            return text
        }
        let message = sentence(tokens: 20), chatMessage = sentence(tokens: 30)
        let messageTokens = loaded.tokenizer.encode(message).count
        _ = try classifier.classify(message)  // warm-up; also prefills the cached prefix
        let cached = try (0 ..< repetitions).map { _ in try classifier.classify(message).latencySeconds * 1000 }
        let uncached = try (0 ..< repetitions).map { _ in try classifier.classify(message, usePrefixCache: false).latencySeconds * 1000 }

        // Chat turns through the engine: Enter queues the reply, then the message's badge as background
        // work, as the chat does.
        // "after a long reply": the previous reply's badge (a 400-token reply) was queued in the background
        // just before; it must give way.
        let engine = try Engine(loaded: loaded, samplerSettings: .greedy, maxReplyTokens: 1)
        defer { engine.shutdown() }
        let longReply = String(repeating: "The function parses each line, checks the fields and returns the totals. ", count: 28)
        // "after 1,000 tokens of history": a 30-token message in a conversation already that long (the
        // history is restored, i.e. prefilled, before the clock starts).
        var history: [ChatSession.Exchange] = []
        var historyTokens = 0
        while historyTokens < 1000 {
            let question = "Step \(history.count + 1): what does the parser do with the next field?"
            history.append(ChatSession.Exchange(id: ExchangeID(history.count + 2), user: question, reply: String(longReply.prefix(400))))
            historyTokens += loaded.tokenizer.encode(question).count + loaded.tokenizer.encode(String(longReply.prefix(400))).count + 10
        }
        var plain: [Turn] = [], afterLong: [Turn] = [], afterHistory: [Turn] = []
        _ = try turn(engine, message: message, previousReply: nil)  // warm-up (prefix caches)
        for _ in 0 ..< repetitions {
            plain.append(try turn(engine, message: message, previousReply: nil))
            afterLong.append(try turn(engine, message: message, previousReply: longReply))
            afterHistory.append(try turn(engine, message: chatMessage, previousReply: nil, history: history))
        }
        let m = Self.median
        if json {
            struct Report: Encodable {
                let message_tokens: Int, prefix_tokens: Int, threads: Int
                let sentiment_ms_cached: Double, sentiment_ms_uncached: Double
                let chat_wait_ms: Double, chat_sentiment_ms: Double, chat_reply_prefill_ms: Double
                let after_long_reply_wait_ms: Double, after_long_reply_sentiment_ms: Double, after_long_reply_prefill_ms: Double
                let history_tokens: Int, chat_message_tokens: Int
                let after_history_wait_ms: Double, after_history_sentiment_ms: Double, after_history_prefill_ms: Double
            }
            let report = Report(message_tokens: messageTokens, prefix_tokens: classifier.prefixTokens.count, threads: loaded.pool.threadCount,
                                sentiment_ms_cached: m(cached), sentiment_ms_uncached: m(uncached),
                                chat_wait_ms: m(plain.map(\.wait)), chat_sentiment_ms: m(plain.map(\.badge)),
                                chat_reply_prefill_ms: m(plain.map(\.prefill)), after_long_reply_wait_ms: m(afterLong.map(\.wait)),
                                after_long_reply_sentiment_ms: m(afterLong.map(\.badge)), after_long_reply_prefill_ms: m(afterLong.map(\.prefill)),
                                history_tokens: afterHistory.first?.historyTokens ?? 0, chat_message_tokens: loaded.tokenizer.encode(chatMessage).count,
                                after_history_wait_ms: m(afterHistory.map(\.wait)), after_history_sentiment_ms: m(afterHistory.map(\.badge)),
                                after_history_prefill_ms: m(afterHistory.map(\.prefill)))
            writeOut(try JSONOutput.line(report))
            return
        }
        writeOut("sentiment of a \(messageTokens)-token message (prompt prefix \(classifier.prefixTokens.count) tokens, \(loaded.pool.threadCount) threads, medians of \(repetitions)):\n")
        writeOut(String(format: "  with prefix cache:    %7.1f ms  (min %.1f)\n", m(cached), cached.min() ?? 0))
        writeOut(String(format: "  without prefix cache: %7.1f ms  (min %.1f)\n", m(uncached), uncached.min() ?? 0))
        let historyName = "\(loaded.tokenizer.encode(chatMessage).count)-token message after \(afterHistory.first?.historyTokens ?? 0) tokens of history"
        for (name, turns) in [("chat turn", plain), ("after a long reply", afterLong), (historyName, afterHistory)] {
            let wait = m(turns.map(\.wait)), badge = m(turns.map(\.badge)), prefill = m(turns.map(\.prefill))
            writeOut(String(format: "%@: Enter → first reply token %.1f ms = reply prefill %.1f ms + %.1f ms other; the message's badge (%.1f ms) comes after the reply\n",
                            name, wait, prefill, wait - prefill, badge))
        }
    }

    struct Turn {
        let wait: Double, badge: Double, prefill: Double
        /// Tokens in the cache before the message (0 unless a history was restored).
        var historyTokens = 0
    }

    /// One message through the engine; milliseconds. The conversation is reset first, so every turn
    /// prefills the same tokens.
    private func turn(_ engine: Engine, message: String, previousReply: String?, history: [ChatSession.Exchange] = []) throws -> Turn {
        engine.enqueue(.reset)
        var historyTokens = 0
        if !history.isEmpty {
            let restoreID = engine.enqueue(.restore(history, systemPrompt: nil))
            var fds = [pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            restoring: while true {
                _ = poll(&fds, 1, 1000)
                for event in engine.drainEvents() {
                    switch event {
                    case .restored(let id, let rebuilt) where id == restoreID:
                        historyTokens = rebuilt.tokens
                        break restoring
                    case .error(_, let message): throw UserFacingError(message)
                    default: break
                    }
                }
            }
        }
        if let previousReply {
            // The user reads the reply for a moment, then sends: the badge is under way by then.
            engine.enqueue(.classify(previousReply, .background))
            usleep(50_000)
        }
        let replyID = engine.enqueue(.send(ExchangeID(1), message))
        let badgeID = engine.enqueue(.classify(message, .background))
        var wait: Double?, badge: Double?, prefill: Double?
        var fds = [pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        // Wait for the reply and, when a long reply's badge was queued, for that too (so it cannot spill
        // into the next turn).
        var pending = previousReply == nil ? 0 : 1
        while prefill == nil || badge == nil || pending > 0 {
            _ = poll(&fds, 1, 1000)
            for event in engine.drainEvents() {
                switch event {
                case .sentiment(let id, let result):
                    if id == badgeID { badge = result.latencySeconds * 1000 } else { pending -= 1 }
                case .firstToken(let id, let first) where id == replyID: wait = first.waitSeconds * 1000
                case .replyDone(let id, let summary) where id == replyID: prefill = summary.stats.promptSeconds * 1000
                case .error(_, let message): throw UserFacingError(message)
                default: break
                }
            }
        }
        return Turn(wait: wait ?? 0, badge: badge ?? 0, prefill: prefill ?? 0, historyTokens: historyTokens)
    }
}
