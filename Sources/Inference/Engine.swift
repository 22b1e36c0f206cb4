import Essentials
import Foundation
import Synchronization
import Transformer

/// The model's own thread: it owns the chat session and the sentiment classifier and serves a queue of
/// jobs, so the UI thread never waits on inference.
///
/// Every job gets a `RequestID` when it is queued, and every event names the request it answers, so the
/// UI only has to remember which message a request was for. Results come back as `Event`s through a
/// locked queue plus a self-pipe: every event also writes one byte to `wakeDescriptor`, which the UI
/// `poll()`s together with stdin, then `drainEvents()`.
///
/// Scheduling: jobs run in the order they were queued, except background work (the chat's badges, the
/// sentiment prompt's prefill, context cache writes, prepared trims), which runs only when nothing else is
/// waiting (a near trim's preparation first, then in queue order). Background work that is running when
/// other work arrives is interrupted between two layers, put back, and finished later, so a message never
/// waits for a badge or a write. Cancelling (Esc) sets an atomic flag that the decode loop checks between
/// tokens; the cut reply stays in the conversation, marked as cut, and the KV cache stays consistent.
public final class Engine: @unchecked Sendable {
    /// Names one queued job; the events it causes carry it.
    public struct RequestID: Hashable, Sendable, CustomStringConvertible {
        public let value: Int
        public var description: String { "#\(value)" }
    }

    /// How urgent a classification is.
    public enum Priority: Sendable {
        /// In queue order, like any job (`qwentty sentiment`'s measurements; the chat's badges are all
        /// background work, so that no badge delays a reply).
        case normal
        /// Only when the engine is otherwise idle, and interrupted by any other job.
        case background
    }

    /// What the engine thread is asked to do.
    public enum Job: Sendable {
        /// Answer a user message; the exchange is recorded under `ExchangeID`.
        case send(ExchangeID, String)
        /// Sentiment of a text (a message or a finished reply).
        case classify(String, Priority)
        /// Go on with the reply of this exchange where it stopped (its events carry this job's id); an
        /// error when it is not the last exchange the context holds.
        case continueReply(ExchangeID)
        /// Sampling, the reply limit and (Qwen3) thinking for the replies after this job (the running
        /// seed is kept).
        case configure(SamplerSettings, maxReplyTokens: Int, thinking: Bool)
        /// Take back this exchange and every one after it (/edit; /regen follows it with `.send` of the same
        /// message). Nothing happens when the context does not hold it.
        case drop(ExchangeID)
        /// Forget the conversation.
        case reset
        /// Rebuild the model's context from a conversation's exchanges under a system prompt (nil: the
        /// model's own): resume, /load, /system, a new model. The conversation's text is recorded by the
        /// caller (the chat controller); the engine keeps only its tokens. `savedContext`: a context cache
        /// file (`ContextCacheFile`) from an earlier run, read instead of prefilling what it holds when it
        /// matches; when it does not, `Rebuilt.savedContextProblem` says why.
        case restore([ChatSession.Exchange], systemPrompt: String?, savedContext: String? = nil)
        /// Write the context's keys and values to a cache file (`ContextCacheFile`), so the chat resumes
        /// without a prefill, and the next trim as far as it is prepared beside it
        /// (`ContextCacheFile.preparedTrimPath`). Background work: a message that arrives meanwhile goes
        /// first, and the write starts over after it.
        case saveContext(String)
        /// Prefill the sentiment classifier's fixed prompt (824 tokens, seconds on a small CPU), so the first
        /// badge costs what every later one does. Queued by the engine itself at start, as background work,
        /// in chunks: an interruption keeps what is done.
        case prepareSentiment
        /// Prefill what the next trim keeps into a second cache (`ChatSession.prepareTrim`), so the trim does
        /// not pause the reply it falls in. Queued by the engine itself after a job, once the next trim can
        /// be planned and is not ready, as background work in chunks: a message that arrives meanwhile goes
        /// first, and the preparation goes on from where it was afterwards.
        case prepareTrim
    }

    /// What a `.restore` did.
    public struct Rebuilt: Sendable {
        /// Tokens the context holds now.
        public let tokens: Int
        /// Of those, read from the saved context cache (not prefilled).
        public let reusedTokens: Int
        public let seconds: Double
        /// The oldest messages that did not fit.
        public let droppedMessages: Int
        /// Why a saved context cache offered was not (wholly) used, in words ("was computed by another
        /// model file"); nil when it was, or none was offered.
        public let savedContextProblem: String?
    }

    /// A reply's first token: what the screen shows while the rest streams.
    public struct FirstToken: Sendable {
        /// From queueing the request to this token: what the user waited, including any job that ran
        /// before it (a reply still running, a background job finishing the layer it was in).
        public let waitSeconds: Double
        /// The turn's prefill: tokens and seconds (from the job's start to the first token).
        public let promptTokens: Int
        public let promptSeconds: Double
        /// The conversation's length in tokens now.
        public let contextUsed: Int

        public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }

        public init(waitSeconds: Double, promptTokens: Int, promptSeconds: Double, contextUsed: Int) {
            self.waitSeconds = waitSeconds
            self.promptTokens = promptTokens
            self.promptSeconds = promptSeconds
            self.contextUsed = contextUsed
        }
    }

    /// How a reply ended.
    public struct ReplySummary: Sendable {
        public let stats: GenerationStats
        /// The conversation's length in tokens afterwards (read on the engine's thread, which owns it).
        public let contextUsed: Int
    }

    /// What the model's context holds: the exchanges recorded in it, oldest first, and its tokens.
    /// Reported after every job that may change it, so the chat always knows what the model remembers.
    public struct ContextContents: Sendable, Equatable {
        public let exchanges: [ExchangeID]
        public let tokens: [Int32]
        public let contextSize: Int
        /// How far the next trim is prepared, once one can be planned (nil before).
        public let nextTrim: ChatSession.TrimReadiness?
        public init(exchanges: [ExchangeID], tokens: [Int32], contextSize: Int, nextTrim: ChatSession.TrimReadiness? = nil) {
            self.exchanges = exchanges
            self.tokens = tokens
            self.contextSize = contextSize
            self.nextTrim = nextTrim
        }
    }

    public enum Event: Sendable {
        /// The sentiment a `.classify` request asked for.
        case sentiment(RequestID, SentimentClassifier.Result)
        /// Text of the reply in progress (complete UTF-8; not yet sanitised for a terminal), with the
        /// decode rate so far and over the last few tokens (what a sparkline plots).
        case token(RequestID, String, decodeTokensPerSecond: Double, recentTokensPerSecond: Double)
        /// The reply's prompt is prefilled and its first token chosen (sent just before that token).
        case firstToken(RequestID, FirstToken)
        /// The reply is complete (or was cut: see `stats.stopReason`).
        case replyDone(RequestID, ReplySummary)
        /// The context filled during a reply (or before it): the oldest messages leave it and the rest is
        /// prefilled again (sent before that prefill, `seconds` nil, and after it); the reply goes on.
        case contextTrimmed(RequestID, ChatSession.ContextTrim)
        /// A conversation was rebuilt (resume, new system prompt).
        case restored(RequestID, Rebuilt)
        /// The context was written to a cache file: its bytes, and the seconds it took.
        case contextSaved(RequestID, bytes: Int, seconds: Double)
        /// The context after a job that may have changed it (sent after that job's own events).
        case context(RequestID, ContextContents)
        case error(RequestID, String)
    }

    public let loaded: LoadedModel
    /// The engine thread's own: read only in tests, once the engine is idle or shut down.
    let session: ChatSession
    let classifier: SentimentClassifier?
    /// Whether badges can be computed (a sentiment prompt fits the model, and its labels are in the
    /// vocabulary).
    public var hasSentiment: Bool { classifier != nil }
    /// A line for the chat when badges are not what they usually are: the short prompt, or none, and why.
    public let sentimentNote: String?
    /// The chat template replies are made with.
    public var template: ChatTemplate { session.template }
    public var contextSize: Int { session.cache.contextSize }
    /// What the engine started with; later changes come as `.configure` jobs, so the engine thread owns
    /// the values it uses and a screen keeps its own copy.
    public let initialSamplerSettings: SamplerSettings
    public let initialMaxReplyTokens: Int
    /// The system prompt the engine started with (nil: the template's default); later ones come with
    /// `.restore` jobs.
    public let initialSystemPrompt: String?
    private var samplerSettings: SamplerSettings
    private var maxReplyTokens: Int
    /// Whether trims are prepared in idle time (tests turn it off to compare with the re-prefill).
    private let preparesTrims: Bool
    /// A `.prepareTrim` is queued (the engine thread's own).
    private var trimPreparationQueued = false
    /// The next trim is near and not ready, as the last report found (the engine thread's own).
    private var trimIsNear = false
    /// Readable whenever events are waiting.
    public var wakeDescriptor: Int32 { wakePipe.readDescriptor }
    private let wakePipe: WakePipe
    /// The reply request Esc asked to stop (0: none). By id, so a cancel that arrives while the reply
    /// still waits behind its message's badge is not lost when its job starts.
    private let cancelledRequest = Atomic<Int>(0)
    /// Jobs waiting that are not background work: a background classification gives way while > 0.
    private let urgentWaiting = Atomic<Int>(0)
    private let lock = NSCondition()
    private struct Queued {
        let id: RequestID
        let job: Job
        let queuedAt: Double
        var isBackground: Bool {
            switch job {
            case .classify(_, .background), .prepareSentiment, .saveContext, .prepareTrim: return true
            default: return false
            }
        }
    }
    private var jobs: [Queued] = []
    private var nextID = 1
    private var events: [Event] = []
    private var stopping = false
    /// `stopping`, readable from the decode loop without the lock.
    private let stopRequested = Atomic<Bool>(false)
    private var isStopping: Bool { stopRequested.load(ordering: .acquiring) }
    private var finished = false
    private var thread: Thread?

    /// Tokens of the first forward pass, run at load (`init`).
    static let warmUpTokens = 16

    /// `prepareSentiment`: queue `.prepareSentiment` at start (tests turn it off to see a cold classifier).
    /// `prepareTrims`: prepare the next trim in idle time (`.prepareTrim`).
    public init(loaded: LoadedModel, samplerSettings: SamplerSettings, systemPrompt: String? = nil,
                maxReplyTokens: Int = 512, prepareSentiment: Bool = true, prepareTrims: Bool = true) throws {
        guard let template = loaded.template else {
            throw ChatTemplate.TemplateError.noChatTokens
        }
        self.loaded = loaded
        self.samplerSettings = samplerSettings
        self.maxReplyTokens = maxReplyTokens
        preparesTrims = prepareTrims
        initialSamplerSettings = samplerSettings
        initialMaxReplyTokens = maxReplyTokens
        initialSystemPrompt = systemPrompt
        session = ChatSession(generator: loaded.generator, template: template, contextSize: loaded.contextSize,
                              systemPrompt: systemPrompt, thinking: true)
        (classifier, sentimentNote) = SentimentClassifier.forChat(model: loaded.model, tokenizer: loaded.tokenizer, template: template)
        wakePipe = try WakePipe()
        // A process's first forward pass is slower than the next ones (the weights' pages are mapped in,
        // caches are cold): it is spent here, at load, on the sentiment prompt's first tokens (or a few
        // of the chat's, then forgotten), not on the user's first message.
        if let classifier, prepareSentiment {
            try? classifier.preparePrefix(upTo: Self.warmUpTokens)
        } else {
            try? loaded.model.forward(Array(session.pendingTokens(forUserText: "").prefix(Self.warmUpTokens)), cache: session.cache)
            session.cache.truncate(to: 0)
        }
        let thread = Thread { [weak self] in self?.serve() }
        thread.name = "qwentty-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
        if classifier != nil, prepareSentiment { enqueue(.prepareSentiment) }
    }

    /// Queues a job and returns the id its events will carry.
    @discardableResult
    public func enqueue(_ job: Job) -> RequestID {
        lock.lock()
        let queued = Queued(id: RequestID(value: nextID), job: job, queuedAt: monotonicSeconds())
        nextID += 1
        jobs.append(queued)
        if !queued.isBackground { urgentWaiting.add(1, ordering: .releasing) }
        lock.signal()
        lock.unlock()
        return queued.id
    }

    /// Asks the reply `request` to stop after its current token (one still queued behind its message's
    /// badge stops at its first token, so the conversation stays a well-formed exchange).
    public func cancel(_ request: RequestID) {
        cancelledRequest.store(request.value, ordering: .releasing)
    }

    /// Stops the engine thread after the current job (cancelling it) and waits for it, so the caller
    /// may read the session afterwards without racing the engine. A context cache write that is queued
    /// still runs (after a cancelled reply: the cut reply is in the context it writes).
    public func shutdown() {
        stopRequested.store(true, ordering: .releasing)  // a reply in progress stops after its token
        lock.lock()
        stopping = true
        jobs.removeAll { if case .saveContext = $0.job { return false } else { return true } }
        urgentWaiting.store(1, ordering: .releasing)  // a background classification in progress gives way
        lock.signal()
        while !finished { lock.wait() }
        lock.unlock()
    }

    /// Everything that happened since the last call, in order.
    public func drainEvents() -> [Event] {
        wakePipe.drain()
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
        wakePipe.wake()
    }

    /// The next job: the oldest that is not background work, else a near trim's preparation, else the
    /// oldest background one.
    private func serve() {
        while true {
            lock.lock()
            while jobs.isEmpty && !stopping { lock.wait() }
            if stopping, let save = jobs.firstIndex(where: { if case .saveContext = $0.job { return true } else { return false } }) {
                let last = jobs.remove(at: save)
                lock.unlock()
                perform(last)
                continue
            }
            if stopping {
                finished = true
                lock.broadcast()
                lock.unlock()
                return
            }
            // Background work in its order, except a trim that is near and not ready: its preparation
            // goes before the badges, which can come a little later, while the trim would pause a reply.
            let index = jobs.firstIndex { !$0.isBackground }
                ?? (trimIsNear ? jobs.firstIndex { if case .prepareTrim = $0.job { return true } else { return false } } : nil) ?? 0
            let next = jobs.remove(at: index)
            if !next.isBackground { urgentWaiting.subtract(1, ordering: .releasing) }
            lock.unlock()
            perform(next)
        }
    }

    /// Puts an interrupted background job back at the head of the background work.
    private func requeue(_ queued: Queued) {
        lock.lock()
        let index = jobs.firstIndex { $0.isBackground } ?? jobs.endIndex
        jobs.insert(queued, at: index)
        lock.unlock()
    }

    private func perform(_ queued: Queued) {
        let id = queued.id
        switch queued.job {
        case .send(let exchange, let text):
            answer(id: id, queuedAt: queued.queuedAt) { sampler, maxTokens, onTrim, onToken in
                try session.send(text, id: exchange, sampler: &sampler, maxTokens: maxTokens, onTrim: onTrim, onToken: onToken)
            }
            reportContext(id)
        case .classify(let text, let priority):
            classify(text, queued: queued, interruptible: priority == .background)
        case .continueReply(let exchange):
            answer(id: id, queuedAt: queued.queuedAt) { sampler, maxTokens, onTrim, onToken in
                try session.continueReply(exchange, sampler: &sampler, maxTokens: maxTokens, onTrim: onTrim, onToken: onToken)
            }
            reportContext(id)
        case .configure(let settings, let limit, let thinking):
            let seed = samplerSettings.seed
            samplerSettings = settings
            samplerSettings.seed = seed
            maxReplyTokens = limit
            session.thinking = thinking
        case .drop(let exchange):
            session.drop(exchange)
            reportContext(id)
        case .reset:
            session.reset()
            reportContext(id)
        case .restore(let exchanges, let prompt, let saved):
            session.systemPrompt = prompt
            rebuild(exchanges, savedContext: saved, id: id)
            reportContext(id)
        case .saveContext(let path):
            let start = monotonicSeconds()
            do {
                let interrupt = { [unowned self] in !isStopping && urgentWaiting.load(ordering: .acquiring) > 0 }
                var bytes = try ContextCacheFile.write(session.cache, tokens: session.tokens, identity: cacheIdentity, to: path,
                                                       interrupt: interrupt)
                // The next trim as far as it is prepared, so that a resume near it does not prepare it again.
                let trimPath = ContextCacheFile.preparedTrimPath(besides: path)
                if let trim = session.preparedTrim {
                    bytes += try ContextCacheFile.write(trim.cache, tokens: trim.tokens, identity: cacheIdentity, to: trimPath,
                                                        interrupt: interrupt)
                } else {
                    unlink(trimPath)
                }
                post(.contextSaved(id, bytes: bytes, seconds: monotonicSeconds() - start))
            } catch ForwardError.interrupted {
                requeue(queued)  // written again, whole, once the urgent work is done
            } catch {
                post(.error(id, "context cache: \(error)"))
            }
        case .prepareSentiment:
            do {
                try classifier?.preparePrefix(interrupt: { [unowned self] in urgentWaiting.load(ordering: .acquiring) > 0 })
            } catch ForwardError.interrupted {
                requeue(queued)  // finished chunks are kept; a message's badge that comes first does the rest
            } catch {
                post(.error(id, "sentiment: \(error)"))
            }
        case .prepareTrim:
            do {
                try session.prepareTrim(interrupt: { [unowned self] in isStopping || urgentWaiting.load(ordering: .acquiring) > 0 })
                trimPreparationQueued = false
                reportContext(id)
            } catch ForwardError.interrupted {
                requeue(queued)  // finished chunks are kept
                reportContext(id)
            } catch {
                trimPreparationQueued = false
                post(.error(id, "preparing the next trim: \(error)"))
            }
        }
    }

    private func classify(_ text: String, queued: Queued, interruptible: Bool) {
        guard let classifier else {
            post(.error(queued.id, "sentiment is not available for this model"))
            return
        }
        do {
            let result = try classifier.classify(text, interrupt: interruptible ? { [unowned self] in
                urgentWaiting.load(ordering: .acquiring) > 0
            } : nil)
            post(.sentiment(queued.id, result))
        } catch ForwardError.interrupted {
            requeue(queued)
        } catch {
            post(.error(queued.id, "sentiment: \(error)"))
        }
    }

    /// Reports the context after a job that may have changed it, and queues the next trim's preparation
    /// when one is near and not ready.
    private func reportContext(_ id: RequestID) {
        let readiness = session.trimReadiness
        trimIsNear = readiness.map { $0.isNear && !$0.isReady } ?? false
        post(.context(id, ContextContents(exchanges: session.exchanges, tokens: session.tokens, contextSize: session.cache.contextSize,
                                          nextTrim: readiness)))
        if preparesTrims, !trimPreparationQueued, let readiness, !readiness.isReady {
            trimPreparationQueued = true
            enqueue(.prepareTrim)
        }
    }

    /// What a context cache file must have been computed from to be read into this engine's context.
    private var cacheIdentity: ContextCacheFile.Identity { ContextCacheFile.Identity(model: loaded, cache: session.cache) }

    /// Re-prefills `exchanges`, keeping a quarter of the context free for the next turns, and reading
    /// what it can from the context cache file `savedContext`.
    private func rebuild(_ exchanges: [ChatSession.Exchange], savedContext: String?, id: RequestID) {
        let start = monotonicSeconds()
        var problem: String?
        var saved: ContextCacheFile?
        if let savedContext {
            do {
                saved = try ContextCacheFile(path: savedContext, expecting: cacheIdentity)
            } catch {
                problem = "\(error)"
            }
        }
        do {
            let done = try session.restore(exchanges, budget: session.cache.contextSize * 3 / 4, reusing: saved)
            // A trim prepared before the chat was saved is taken up where it still fits; otherwise it is
            // prepared again in idle time (a shortcut only: nothing to say when it cannot be used).
            if let savedContext, done.reusedTokens > 0,
               let trim = try? ContextCacheFile(path: ContextCacheFile.preparedTrimPath(besides: savedContext), expecting: cacheIdentity) {
                session.adoptPreparedTrim(trim)
            }
            post(.restored(id, Rebuilt(tokens: session.cache.count, reusedTokens: done.reusedTokens, seconds: monotonicSeconds() - start,
                                       droppedMessages: done.droppedMessages,
                                       savedContextProblem: problem ?? done.savedContextProblem.map(\.description))))
        } catch {
            post(.error(id, "\(error)"))
        }
    }

    /// One turn of generation: `send`, or `continueReply`, given the sampler, the reply limit and the
    /// callbacks that turn its progress into events.
    private typealias Turn = (inout Sampler, Int, (ChatSession.ContextTrim) -> Void, (GeneratedToken) -> Bool) throws -> TextGenerator.Result

    /// Runs `turn` and reports it: first token, streamed text, context trims, the end.
    private func answer(id: RequestID, queuedAt: Double, _ turn: Turn) {
        var sampler = Sampler(settings: samplerSettings)
        samplerSettings.seed &+= 1
        var times: [Double] = []
        var started = monotonicSeconds()
        var contextBefore = session.cache.count
        do {
            let result = try turn(&sampler, maxReplyTokens, { trim in
                if times.isEmpty, trim.seconds != nil {  // before the prompt: its prefill is measured from here
                    started = monotonicSeconds()
                    contextBefore = session.cache.count
                }
                post(.contextTrimmed(id, trim))
            }) { token in
                let now = monotonicSeconds()
                if times.isEmpty {
                    // The first token is sampled but not yet fed: the cache holds exactly the prompt.
                    let context = session.cache.count
                    post(.firstToken(id, FirstToken(waitSeconds: now - queuedAt, promptTokens: context - contextBefore,
                                                    promptSeconds: now - started, contextUsed: context)))
                }
                times.append(now)
                let rate = times.count > 1 ? Double(times.count - 1) / max(1e-9, now - times[0]) : 0
                // Rate over the last 8 tokens: the within-reply curve without single-token jitter.
                let window = min(8, times.count - 1)
                let recent = window > 0 ? Double(window) / max(1e-9, now - times[times.count - 1 - window]) : 0
                if !token.text.isEmpty { post(.token(id, token.text, decodeTokensPerSecond: rate, recentTokensPerSecond: recent)) }
                return cancelledRequest.load(ordering: .acquiring) != id.value && !isStopping
            }
            post(.replyDone(id, ReplySummary(stats: result.stats, contextUsed: session.cache.count)))
        } catch {
            post(.error(id, "\(error)"))
        }
    }
}
