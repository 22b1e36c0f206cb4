import Foundation
import Kernels
import Synchronization
import Tokenizer
import Transformer

/// The model's own thread: it owns the chat session and the sentiment classifier and serves a queue of
/// jobs, so the UI thread never waits on inference.
///
/// Results come back as `Event`s through a locked queue plus a self-pipe: every event also writes one
/// byte to `wakeDescriptor`, which the UI `poll()`s together with stdin, then `drainEvents()`. Cancelling
/// sets an atomic flag the decode loop checks between tokens; the cut reply stays in the conversation,
/// marked as cut, and the KV cache stays consistent.
public final class Engine: @unchecked Sendable {
    public enum Event: Sendable {
        /// Sentiment of the user message being answered (sent before any reply token).
        case userSentiment(SentimentClassifier.Result)
        /// Sentiment of the reply just completed.
        case replySentiment(SentimentClassifier.Result)
        /// Text of the reply in progress (already complete UTF-8; not yet sanitised for a terminal), the
        /// decode rate so far and over the last few tokens (what a sparkline plots).
        case token(String, decodeTokensPerSecond: Double, recentTokensPerSecond: Double)
        /// The reply is complete (or was cut: see `stats.stopReason`); `contextUsed` is the conversation's
        /// length in tokens afterwards (read here, on the engine's thread, which owns the session).
        case replyDone(GenerationStats, contextUsed: Int)
        /// A conversation was rebuilt (resume, new system prompt): tokens prefilled, seconds, messages left out.
        case restored(tokens: Int, seconds: Double, droppedMessages: Int)
        case error(String)
    }

    /// What the engine thread is asked to do, served in order.
    public enum Job: Sendable {
        /// Answer a user message.
        case send(String)
        /// Take back the last exchange and answer the same user message again.
        case regenerate
        /// Take back the last exchange (the UI puts the message back in the editor).
        case dropLastExchange
        /// Forget the conversation.
        case reset
        /// Set the system prompt (nil: the model's own) and rebuild the conversation under it.
        case setSystemPrompt(String?)
        /// Rebuild a saved conversation (alternating user/assistant messages) under its system prompt.
        case restore([ChatMessage], systemPrompt: String?)
    }

    public let loaded: LoadedModel
    public let session: ChatSession
    public let classifier: SentimentClassifier?
    public var samplerSettings: SamplerSettings
    public let maxReplyTokens: Int
    /// Read end of the self-pipe; readable whenever events are waiting.
    public let wakeDescriptor: Int32
    private let wakeWriter: Int32
    private let cancelRequested = Atomic<Bool>(false)
    private let lock = NSCondition()
    private var jobs: [Job] = []
    private var events: [Event] = []
    private var stopping = false
    private var finished = false
    private var thread: Thread?

    public init(loaded: LoadedModel, samplerSettings: SamplerSettings, systemPrompt: String? = nil,
                maxReplyTokens: Int = 512) throws {
        guard let template = loaded.template else {
            throw ChatTemplate.TemplateError.noChatTokens
        }
        self.loaded = loaded
        self.samplerSettings = samplerSettings
        self.maxReplyTokens = maxReplyTokens
        session = ChatSession(generator: loaded.generator, template: template, contextSize: loaded.contextSize,
                              systemPrompt: systemPrompt, thinking: false)
        classifier = try? SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw EngineError.pipe }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        wakeDescriptor = fds[0]
        wakeWriter = fds[1]
        let thread = Thread { [weak self] in self?.serve() }
        thread.name = "qwentty-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    enum EngineError: Error { case pipe }

    deinit {
        close(wakeDescriptor)
        close(wakeWriter)
    }

    /// Queues a user message. Events for it (user sentiment, tokens, done, reply sentiment) follow.
    public func submit(_ text: String) {
        enqueue(.send(text))
    }

    public func enqueue(_ job: Job) {
        lock.lock()
        jobs.append(job)
        lock.signal()
        lock.unlock()
    }

    /// Asks the reply in progress to stop after the current token.
    public func cancel() {
        cancelRequested.store(true, ordering: .releasing)
    }

    /// Stops the engine thread after the current job (cancelling it) and waits for it, so the caller
    /// may read the session afterwards without racing the engine.
    public func shutdown() {
        cancel()
        lock.lock()
        stopping = true
        jobs.removeAll()
        lock.signal()
        while !finished { lock.wait() }
        lock.unlock()
    }

    /// Everything that happened since the last call, in order.
    public func drainEvents() -> [Event] {
        var scratch = [UInt8](repeating: 0, count: 256)
        while read(wakeDescriptor, &scratch, scratch.count) > 0 {}
        lock.lock()
        defer { lock.unlock() }
        let out = events
        events.removeAll()
        return out
    }

    private func post(_ event: Event) {
        lock.lock()
        events.append(event)
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
    }

    private func serve() {
        while true {
            lock.lock()
            while jobs.isEmpty && !stopping { lock.wait() }
            if stopping {
                finished = true
                lock.broadcast()
                lock.unlock()
                return
            }
            let job = jobs.removeFirst()
            lock.unlock()
            cancelRequested.store(false, ordering: .releasing)
            perform(job)
        }
    }

    private func perform(_ job: Job) {
        switch job {
        case .send(let text):
            answer(text)
        case .regenerate:
            if let text = session.dropLastExchange() { answer(text) } else { post(.error("nothing to regenerate")) }
        case .dropLastExchange:
            session.dropLastExchange()
        case .reset:
            session.reset()
        case .setSystemPrompt(let prompt):
            session.systemPrompt = prompt
            rebuild(session.messages)
        case .restore(let messages, let prompt):
            session.systemPrompt = prompt
            rebuild(messages)
        }
    }

    /// Re-prefills `messages`, keeping a quarter of the context free for the next turns.
    private func rebuild(_ messages: [ChatMessage]) {
        let start = monotonicSeconds()
        do {
            let dropped = try session.restore(messages, budget: session.cache.contextSize * 3 / 4)
            post(.restored(tokens: session.cache.count, seconds: monotonicSeconds() - start, droppedMessages: dropped))
        } catch {
            post(.error("\(error)"))
        }
    }

    private func answer(_ text: String) {
        var sampler = Sampler(settings: samplerSettings)
        samplerSettings.seed &+= 1
        var times: [Double] = []
        do {
            _ = try session.send(text, sampler: &sampler, maxTokens: maxReplyTokens, classifier: classifier) { event in
                switch event {
                case .userSentiment(let r):
                    post(.userSentiment(r))
                case .token(let t):
                    let now = monotonicSeconds()
                    times.append(now)
                    let rate = times.count > 1 ? Double(times.count - 1) / max(1e-9, now - times[0]) : 0
                    // Rate over the last 8 tokens: the within-reply curve without single-token jitter.
                    let window = min(8, times.count - 1)
                    let recent = window > 0 ? Double(window) / max(1e-9, now - times[times.count - 1 - window]) : 0
                    if !t.text.isEmpty { post(.token(t.text, decodeTokensPerSecond: rate, recentTokensPerSecond: recent)) }
                    return !cancelRequested.load(ordering: .acquiring)
                case .replyFinished(let stats):
                    post(.replyDone(stats, contextUsed: session.cache.count))
                case .assistantSentiment(let r):
                    post(.replySentiment(r))
                }
                return true
            }
        } catch {
            post(.error("\(error)"))
        }
    }
}
