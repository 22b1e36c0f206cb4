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
        /// Sentiment of message `index` of the transcript (user messages right away, replies once done).
        case sentiment(index: Int, SentimentClassifier.Result)
        /// Text of the reply in progress (already complete UTF-8; not yet sanitised for a terminal).
        case token(String, decodeTokensPerSecond: Double)
        /// The reply is complete (or was cut: see `stats.stopReason`).
        case replyDone(GenerationStats)
        case error(String)
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
    private var jobs: [String] = []
    private var events: [Event] = []
    private var stopping = false
    private var thread: Thread?
    private var messageCount = 0

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
        lock.lock()
        jobs.append(text)
        lock.signal()
        lock.unlock()
    }

    /// Asks the reply in progress to stop after the current token.
    public func cancel() {
        cancelRequested.store(true, ordering: .releasing)
    }

    /// Stops the engine thread after the current job (cancelling it).
    public func shutdown() {
        cancel()
        lock.lock()
        stopping = true
        jobs.removeAll()
        lock.signal()
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
            if stopping { lock.unlock(); return }
            let text = jobs.removeFirst()
            lock.unlock()
            cancelRequested.store(false, ordering: .releasing)
            run(text)
        }
    }

    private func run(_ text: String) {
        let userIndex = messageCount
        messageCount += 2
        var sampler = Sampler(settings: samplerSettings)
        samplerSettings.seed &+= 1
        let decodeStart = monotonicSeconds()
        var tokens = 0
        do {
            let result = try session.send(text, sampler: &sampler, maxTokens: maxReplyTokens, classifier: classifier) { event in
                switch event {
                case .userSentiment(let r):
                    post(.sentiment(index: userIndex, r))
                case .token(let t):
                    tokens += 1
                    let rate = Double(tokens) / max(1e-9, monotonicSeconds() - decodeStart)
                    if !t.text.isEmpty { post(.token(t.text, decodeTokensPerSecond: rate)) }
                    return !cancelRequested.load(ordering: .acquiring)
                case .assistantSentiment(let r):
                    post(.sentiment(index: userIndex + 1, r))
                }
                return true
            }
            post(.replyDone(result.stats))
        } catch {
            post(.error("\(error)"))
        }
    }
}
