import Foundation
import Inference
import Kernels
import Tokenizer
import Transformer

/// The chat's one owner: the conversation, the engine that runs the model, the settings and system
/// prompt, saving and resuming, model switches and the badge rules. Every chat command is a method here,
/// and the screen (or a test) only calls them, then draws `conversation` and the `Event`s taken with
/// `takeEvents()`. Headless: nothing here touches a terminal.
///
/// The conversation is the record; the engine's context is derived from it. Each exchange in the context
/// carries the id of its user message (`ExchangeID`), every job names the exchange it acts on, and the
/// engine reports what its context holds after each job (`context`), so the model's memory and the
/// screen cannot drift apart: a refused message is marked failed and never fed back, and a rebuild
/// (resume, a new system prompt, a new model) feeds exactly `conversation.exchanges`.
///
/// Not thread-safe: one thread (the UI's) calls everything, including `poll()` when a descriptor in
/// `wakeDescriptors` is readable.
public final class ChatController {
    public struct Options {
        public var modelPath: String
        /// `--quant`: a Hugging Face folder's matrices are quantised at load (also when `/model` opens one).
        public var quantizeTo: QuantizationTarget?
        /// Where chats are saved (nil: `--no-save`).
        public var sessions: SessionStore?
        /// Where a saved chat's context cache is kept, so it resumes without a prefill (nil: not kept).
        public var contextCache: ContextCacheStore?
        /// Qwen3 thinks before answering (`--no-think`, `think = off`: it answers at once).
        public var thinking = true
        public init(modelPath: String) {
            self.modelPath = modelPath
        }
    }

    /// What happened, for the screen to show. Everything else it draws it reads from the controller.
    public enum Event: Sendable {
        /// A line for the user (screen-only: notices are not part of the conversation).
        case notice(String)
        /// A reply (new, regenerated or continued) started streaming into `message`.
        case replyStarted(Message.ID)
        case firstToken(Engine.FirstToken)
        /// A token arrived (its text is already in the conversation), with the decode rates so far.
        case tokenArrived(decodeTokensPerSecond: Double, recentTokensPerSecond: Double)
        case replyFinished(GenerationStats, contextUsed: Int)
        /// The reply job failed (the message or the reply is marked failed, and a notice says why).
        case replyFailed(Message.ID)
        /// The oldest exchanges left the context while a reply was made (before its prefill, `seconds` nil,
        /// and after it).
        case contextTrimmed(ChatSession.ContextTrim)
        /// A badge arrived, taking this long.
        case sentimentMeasured(latencySeconds: Double)
        /// The context holds this many tokens now.
        case contextUsed(Int)
        /// Another conversation took this one's place (`/clear`, `/load`): drop what was drawn of it.
        case conversationReplaced
        /// Another model (or context size) is in use: its figures changed.
        case modelChanged
    }

    /// A command that cannot run now or was given a bad value; the words say why. The screen keeps what
    /// the user typed.
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The model in use, as the stats pane and `/model` describe it.
    public struct ModelSummary: Equatable, Sendable {
        public let name: String
        public let architecture: String
        public let weightTypes: String
        public let weightTypeMix: String
        public let contextSize: Int
        public let trainedContext: Int
        public let threads: Int
        public let loadSeconds: Double
        public let byteCount: Int
        public let layers: Int
        public let hiddenSize: Int
        public let heads: Int
        public let kvHeads: Int
    }

    public internal(set) var conversation: Conversation
    public internal(set) var settings: RuntimeSettings
    /// nil: the template's default.
    public internal(set) var systemPrompt: String?
    /// The file this chat is saved to (nil until its first message, or after `/clear`).
    public internal(set) var sessionPath: String?
    /// The name `/rename` gave this chat.
    public internal(set) var sessionName: String?
    public internal(set) var modelPath: String
    public internal(set) var model: ModelSummary
    /// What the model's context holds, as the engine last reported it.
    public internal(set) var context: Engine.ContextContents
    public let started = Date()

    var engine: Engine
    var options: Options
    var events: [Event] = []
    /// The message each pending badge request is for.
    var badgeRequests: [Engine.RequestID: Message.ID] = [:]
    struct ReplyInProgress {
        let request: Engine.RequestID
        let message: Message.ID
        /// A continued reply's text and status before it: what it is put back to if the continuation fails.
        let continuedFrom: (text: String, status: Message.Status)?
    }
    var reply: ReplyInProgress?
    /// Rebuilds of the context still running: the conversation waits for them.
    var pendingRestores: Set<Engine.RequestID> = []
    /// Jobs that may change the context whose report has not come yet.
    var unreported: Set<Engine.RequestID> = []
    /// A model loading beside the engine in use (`/model`, `/set ctx`); the conversation waits for it.
    var pendingLoad: ModelLoad?
    /// The load is for a chat just opened: if it fails or is given up, the engine in use rebuilds the chat.
    var pendingLoadOpensChat = false
    /// The last save failed (said once; every later change tries again, and success is said too).
    var savingFails = false
    /// The context cache write queued and not yet done (one at a time: it writes the context as it is
    /// when it runs).
    var contextSaveRequest: Engine.RequestID?
    /// A context cache write failed (said once).
    var contextSavingFails = false
    /// The rebuild of a chat just opened: why its saved context cache was not used is worth a line.
    var openingRestore: Engine.RequestID?

    public init(engine: Engine, options: Options) {
        self.engine = engine
        self.options = options
        modelPath = options.modelPath
        conversation = Conversation(recognisesThinking: engine.template.supportsThinking)
        systemPrompt = engine.initialSystemPrompt
        settings = RuntimeSettings(sampler: engine.initialSamplerSettings, maxReplyTokens: engine.initialMaxReplyTokens)
        model = Self.summary(of: engine)
        context = Engine.ContextContents(exchanges: [], tokens: [], contextSize: engine.contextSize)
        if !options.thinking {
            settings.thinking = false
            sendSettings()
        }
        noteModel()
    }

    // MARK: State the screen reads

    /// Descriptors to `poll()` for: readable when the engine or a model load has something to report.
    public var wakeDescriptors: [Int32] { [engine.wakeDescriptor, pendingLoad?.wakeDescriptor ?? -1] }

    /// A reply is streaming, the context is being rebuilt, or a model is loading: commands that change
    /// the conversation wait (they are refused with `busyReason`).
    public var isBusy: Bool { reply != nil || !pendingRestores.isEmpty || pendingLoad != nil }

    /// Nothing is running or waiting to be reported, badges and the context cache's write included (what
    /// a test waits for).
    public var isIdle: Bool { !isBusy && badgeRequests.isEmpty && unreported.isEmpty && contextSaveRequest == nil }

    public var busyReason: String {
        if pendingLoad != nil { return "The model is still loading: Esc gives it up." }
        if reply != nil { return "A reply is still running: Esc cancels it first." }
        return "The context is still being rebuilt; a moment."
    }

    /// The message a reply is streaming into, if any.
    public var streamingMessage: Message.ID? { reply?.message }
    public var hasSentiment: Bool { engine.hasSentiment }
    public var supportsThinking: Bool { engine.template.supportsThinking }
    /// The template the engine renders with and its tokenizer (for tests that check the context against
    /// the conversation).
    public var template: ChatTemplate { engine.template }
    public var tokenizer: QwenTokenizer { engine.loaded.tokenizer }

    /// Everything that happened since the last call, in order.
    public func takeEvents() -> [Event] {
        defer { events.removeAll() }
        return events
    }

    /// Reads what the engine and a model load have reported; true when anything changed.
    @discardableResult
    public func poll() -> Bool {
        var changed = false
        for event in engine.drainEvents() {
            handle(event)
            changed = true
        }
        if let load = pendingLoad, let outcome = load.take() {
            finishLoad(load, outcome)
            changed = true
        }
        return changed
    }

    /// Stops the engine (and any load) and saves the chat; a reply in progress is saved as cut, and the
    /// context (with it) is written to the chat's cache, if a write was due.
    public func shutdown() {
        pendingLoad?.abandon()
        pendingLoad = nil
        saveSession()
        if reply != nil || contextSaveRequest != nil { contextSaveRequest = nil; saveContext() }
        engine.shutdown()
        saveSession()
    }

    // MARK: Commands

    /// Sends a user message. The reply comes first; the message's badge is background work, made once
    /// the engine is idle (after the reply, or between two layers of a later job it gives way to), so it
    /// never delays a reply's first token.
    public func send(_ text: String) throws {
        try refuseWhileBusy()
        let user = conversation.append(.user, text, status: .complete)
        let message = conversation.append(.assistant, "", status: .streaming)
        startReply(engine.enqueue(.send(ExchangeID(user.value), text)), into: message)
        if engine.hasSentiment { badgeRequests[engine.enqueue(.classify(text, .background))] = user }
    }

    /// Esc: stops the reply in progress after its current token, or gives up a model load. False when
    /// there was nothing to stop.
    @discardableResult
    public func cancel() -> Bool {
        if let reply {
            engine.cancel(reply.request)
            return true
        }
        if let load = pendingLoad {
            load.abandon()
            keepEngine(after: load, because: "Gave up loading \(load.request.path)")
            return true
        }
        return false
    }

    /// `/regen`: the reply to the last message sent is made again. A refused message after it stays
    /// as it is (it was never sent).
    public func regenerate() throws {
        try refuseWhileBusy()
        guard let (user, old) = conversation.lastSentExchange, let old else {
            return notice("Nothing to regenerate yet.")
        }
        track(engine.enqueue(.drop(ExchangeID(user.id.value))))
        forgetBadges(for: [old.id])
        conversation.update(old.id) {
            $0.set(sentiment: nil)
            $0.replaceText("", status: .streaming)
        }
        startReply(engine.enqueue(.send(ExchangeID(user.id.value), user.text)), into: old.id)
    }

    /// `/continue`: the last reply goes on where it stopped.
    public func continueReply() throws {
        try refuseWhileBusy()
        guard let (user, reply) = conversation.lastSentExchange, let reply else {
            return notice("No reply to continue yet.")
        }
        if case .failed(let reason) = reply.status {
            return notice("That reply failed (\(reason)): /regen makes it again.")
        }
        let before = (reply.text, reply.status)
        forgetBadges(for: [reply.id])
        conversation.update(reply.id) {
            $0.set(sentiment: nil)
            $0.set(status: .streaming)
        }
        startReply(engine.enqueue(.continueReply(ExchangeID(user.id.value))), into: reply.id, continuing: before)
    }

    /// `/edit`: takes the last message back (with its reply) and returns its text for the input line;
    /// nil when there is none. A refused message comes back too, so it can be shortened and sent.
    public func edit() throws -> String? {
        try refuseWhileBusy()
        guard let index = conversation.messages.lastIndex(where: { $0.role == .user }) else {
            notice("Nothing to edit yet.")
            return nil
        }
        let user = conversation.messages[index]
        var removed: Set<Message.ID> = [user.id]
        if index + 1 < conversation.messages.count, conversation.messages[index + 1].role == .assistant {
            removed.insert(conversation.messages[index + 1].id)
        }
        if !user.status.isFailed { track(engine.enqueue(.drop(ExchangeID(user.id.value)))) }
        forgetBadges(for: removed)
        conversation.remove(removed)
        saveSession()
        return user.text
    }

    /// `/clear`: a new conversation (the old one stays saved).
    public func clear() throws {
        try refuseWhileBusy()
        track(engine.enqueue(.reset))
        conversation.removeAll()
        badgeRequests = [:]
        sessionPath = nil
        sessionName = nil
        emit(.conversationReplaced)
        emit(.contextUsed(0))
        notice("New conversation.")
    }

    /// `/system TEXT` (nil: back to the template's default): the context is rebuilt under it.
    public func setSystemPrompt(_ prompt: String?) throws {
        try refuseWhileBusy()
        systemPrompt = prompt
        rebuildContext()
        notice(prompt.map { "System prompt set: \($0)" } ?? "System prompt: back to the model's default.")
        saveSession()
    }

    /// `/set KEY VALUE`: a sampling setting, the reply limit, `ctx` (the model is loaded again for it) or
    /// `system`.
    public func set(_ key: String, _ value: String) throws {
        if SamplingParameter.named(key) == .contextSize {
            try refuseWhileBusy()
            do {
                return reload(path: nil, contextSize: Int(try SamplingParameter.contextSize.parse(value)), chatContext: true)
            } catch {
                throw Refusal(description: "/set \(error)")
            }
        }
        if ["system", "system_prompt"].contains(key.lowercased()) {
            return try setSystemPrompt(value.lowercased() == "default" ? nil : value)
        }
        do {
            notice(try settings.set(key, value))
        } catch {
            throw Refusal(description: "\(error)")
        }
        sendSettings()
        saveSession()
    }

    /// `/think on|off`: whether a Qwen3 model thinks before answering, from the next reply on.
    public func setThinking(_ on: Bool) {
        guard supportsThinking else {
            return notice("This model's chat template has no think blocks (Qwen3's have): /think on|off changes nothing here.")
        }
        settings.thinking = on
        sendSettings()
        notice(on ? "Thinking on: the model reasons before it answers, from the next reply (/think show unfolds it)."
                  : "Thinking off: the model answers at once, from the next reply.")
        saveSession()
    }

    /// `/model FILE`: another model, loaded beside this one; the conversation moves to it.
    public func loadModel(path: String) throws {
        try refuseWhileBusy()
        reload(path: (path as NSString).expandingTildeInPath, contextSize: nil)
    }

    // MARK: Descriptions (`/system`, `/set`, `/model`)

    public var systemPromptDescription: String {
        let shown = systemPrompt.map { "System prompt: " + $0 }
            ?? engine.template.defaultSystemPrompt.map { "System prompt (the model's own default): " + $0 }
            ?? "System prompt: none (this model's template has no default)."
        return shown + " (/system TEXT sets it, /system default restores it)"
    }

    public var settingsDescription: String {
        let system = systemPrompt ?? engine.template.defaultSystemPrompt.map { "the model's default (\($0))" } ?? "none"
        return settings.summary + " · ctx \(model.contextSize) · system: \(system)"
            + (sessionName.map { " · chat name: \($0)" } ?? "") + " (/set KEY VALUE changes one; saved with this chat)"
    }

    public var modelDescription: String {
        "Model \(model.name) (\(model.architecture)) · \(modelPath) · \(model.byteCount >> 20) MiB · \(model.weightTypes) (\(model.weightTypeMix)) · "
            + "\(model.layers) layers, \(model.hiddenSize) wide, \(model.heads)/\(model.kvHeads) heads · "
            + "context \(model.contextSize) of \(model.trainedContext) trained · loaded in \(Int(model.loadSeconds * 1000)) ms"
    }

    // MARK: Internals

    func refuseWhileBusy() throws {
        if isBusy { throw Refusal(description: busyReason) }
    }

    func notice(_ text: String) {
        emit(.notice(text))
    }

    func emit(_ event: Event) {
        events.append(event)
    }

    /// A badge still coming for these messages judges text they no longer hold (a reply made again or
    /// continued, a message taken back): it is not shown when it arrives.
    func forgetBadges(for messages: Set<Message.ID>) {
        for (request, message) in badgeRequests where messages.contains(message) { badgeRequests[request] = nil }
    }

    /// Remembers a job that changes the context, until the engine reports the context after it.
    func track(_ request: Engine.RequestID) {
        unreported.insert(request)
    }

    func startReply(_ request: Engine.RequestID, into message: Message.ID,
                            continuing before: (text: String, status: Message.Status)? = nil) {
        track(request)
        reply = ReplyInProgress(request: request, message: message, continuedFrom: before)
        emit(.replyStarted(message))
        saveSession()
    }

    /// Feeds the conversation's exchanges (nothing refused or broken off) to the engine afresh, reading
    /// what it can from the chat's saved context cache. `opening`: the chat was just opened (resume,
    /// `/load`), so a cache that could not be used is said.
    func rebuildContext(opening: Bool = false) {
        let exchanges = conversation.exchanges.map { ChatSession.Exchange(id: $0.id, user: $0.user.text, reply: $0.reply.text) }
        let saved = contextCachePath.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let request = engine.enqueue(.restore(exchanges, systemPrompt: systemPrompt, savedContext: saved))
        track(request)
        pendingRestores.insert(request)
        if opening { openingRestore = request }
    }

    /// This chat's context cache file (nil: not saved, or caches are not kept).
    var contextCachePath: String? {
        guard let store = options.contextCache, let sessionPath else { return nil }
        return store.path(forSession: sessionPath)
    }

    /// Queues a write of the model's context to the chat's cache file, unless one is waiting (it will
    /// write the context as it is by then). Background work: the next message never waits for it.
    func saveContext() {
        guard contextSaveRequest == nil, let store = options.contextCache, let path = contextCachePath,
              !conversation.exchanges.isEmpty else { return }
        do {
            try store.prepare()
        } catch {
            if !contextSavingFails { notice("The context cache cannot be kept: \(error). Resuming this chat will prefill it.") }
            contextSavingFails = true
            return
        }
        contextSaveRequest = engine.enqueue(.saveContext(path))
    }

    /// Sends the settings replies are made with (sampling, reply limit, thinking) to the engine.
    func sendSettings() {
        engine.enqueue(.configure(settings.sampler, maxReplyTokens: settings.maxReplyTokens, thinking: settings.thinking))
    }

    /// What is unusual about a model is said when it is loaded: a chat template qwentty does not render,
    /// badges from the short sentiment prompt or none.
    func noteModel() {
        if let warning = engine.template.warning { notice("Chat template: " + warning + ".") }
        if let note = engine.sentimentNote { notice(note) }
    }

    func sessionStore() throws -> SessionStore {
        guard let store = options.sessions else {
            throw Refusal(description: "Sessions are not being saved (--no-save).")
        }
        return store
    }

    static func summary(of engine: Engine) -> ModelSummary {
        let loaded = engine.loaded
        let config = loaded.model.config
        return ModelSummary(name: config.name, architecture: config.architecture.rawValue, weightTypes: loaded.weightTypeSummary,
                            weightTypeMix: loaded.weightTypeMix, contextSize: engine.contextSize,
                            trainedContext: config.trainedContext, threads: loaded.pool.threadCount,
                            loadSeconds: loaded.loadSeconds, byteCount: loaded.source.byteCount, layers: config.layerCount,
                            hiddenSize: config.hiddenSize, heads: config.headCount, kvHeads: config.kvHeadCount)
    }

}
