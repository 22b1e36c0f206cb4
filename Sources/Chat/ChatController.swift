import Essentials
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

    public private(set) var conversation: Conversation
    public private(set) var settings: RuntimeSettings
    /// nil: the template's default.
    public private(set) var systemPrompt: String?
    /// The file this chat is saved to (nil until its first message, or after `/clear`).
    public private(set) var sessionPath: String?
    /// The name `/rename` gave this chat.
    public private(set) var sessionName: String?
    public private(set) var modelPath: String
    public private(set) var model: ModelSummary
    /// What the model's context holds, as the engine last reported it.
    public private(set) var context: Engine.ContextContents
    public let started = Date()

    private var engine: Engine
    private var options: Options
    private var events: [Event] = []
    /// The message each pending badge request is for.
    private var badgeRequests: [Engine.RequestID: Message.ID] = [:]
    private struct ReplyInProgress {
        let request: Engine.RequestID
        let message: Message.ID
        /// A continued reply's text and status before it: what it is put back to if the continuation fails.
        let continuedFrom: (text: String, status: Message.Status)?
    }
    private var reply: ReplyInProgress?
    /// Rebuilds of the context still running: the conversation waits for them.
    private var pendingRestores: Set<Engine.RequestID> = []
    /// Jobs that may change the context whose report has not come yet.
    private var unreported: Set<Engine.RequestID> = []
    /// A model loading beside the engine in use (`/model`, `/set ctx`); the conversation waits for it.
    private var pendingLoad: ModelLoad?
    /// The load is for a chat just opened: if it fails or is given up, the engine in use rebuilds the chat.
    private var pendingLoadOpensChat = false
    /// The last save failed (said once; every later change tries again, and success is said too).
    private var savingFails = false

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
        noteTemplate()
    }

    // MARK: State the screen reads

    /// Descriptors to `poll()` for: readable when the engine or a model load has something to report.
    public var wakeDescriptors: [Int32] { [engine.wakeDescriptor, pendingLoad?.wakeDescriptor ?? -1] }

    /// A reply is streaming, the context is being rebuilt, or a model is loading: commands that change
    /// the conversation wait (they are refused with `busyReason`).
    public var isBusy: Bool { reply != nil || !pendingRestores.isEmpty || pendingLoad != nil }

    /// Nothing is running or waiting to be reported, badges included (what a test waits for).
    public var isIdle: Bool { !isBusy && badgeRequests.isEmpty && unreported.isEmpty }

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

    /// Stops the engine (and any load) and saves the chat; a reply in progress is saved as cut.
    public func shutdown() {
        pendingLoad?.abandon()
        pendingLoad = nil
        engine.shutdown()
        saveSession()
    }

    // MARK: Commands

    /// Sends a user message; its badge comes first (it is short), then the reply.
    public func send(_ text: String) throws {
        try refuseWhileBusy()
        let user = conversation.append(.user, text, status: .complete)
        if engine.hasSentiment { badgeRequests[engine.enqueue(.classify(text, .normal))] = user }
        let message = conversation.append(.assistant, "", status: .streaming)
        startReply(engine.enqueue(.send(ExchangeID(user.value), text)), into: message)
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
        for (request, message) in badgeRequests where removed.contains(message) { badgeRequests[request] = nil }
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

    /// `/load N|NAME`: another saved chat.
    public func openSession(_ selector: String) throws {
        try refuseWhileBusy()
        let store = try sessionStore()
        do {
            let path = try store.path(for: selector)
            open(try store.load(path), from: path)
        } catch {
            throw Refusal(description: "\(error)")
        }
    }

    /// `chat --resume`: shows a saved conversation and rebuilds the model's context from it.
    public func open(_ chat: SavedChat, from path: String) {
        conversation = chat.conversation
        conversation.adopt(recognisesThinking: supportsThinking)
        badgeRequests = [:]
        emit(.conversationReplaced)
        sessionPath = path
        sessionName = chat.name
        systemPrompt = chat.systemPrompt
        if let saved = chat.settings {
            for problem in settings.restore(saved) { notice("saved settings: " + problem) }
            sendSettings()
        }
        let skipped = conversation.messages.filter(\.status.isFailed).count
        notice("Opened \(conversation.messages.count) messages from \(path); rebuilding the context…"
               + (skipped > 0 ? " (\(skipped) that were not sent stay out of it)" : ""))
        // A chat saved after `/set ctx` comes back at its context: the model is loaded again for it (the
        // load rebuilds the conversation); a context the model cannot give is already what it runs at.
        if let ctx = settings.contextSize, min(ctx, engine.loaded.model.config.trainedContext) != engine.contextSize {
            reload(path: nil, contextSize: ctx, chatContext: true)
            pendingLoadOpensChat = pendingLoad != nil
            if pendingLoad != nil { return }
        }
        rebuildContext()
    }

    /// `/rename NAME`.
    public func rename(_ name: String) throws {
        _ = try sessionStore()
        sessionName = name
        notice("This chat is named \(name): `qwentty --resume \(name)` or /load \(name) opens it.")
        saveSession()
    }

    /// `/delete N|NAME`: a saved chat's file (this one's too: it is saved again with the next change).
    public func deleteSession(_ selector: String) throws {
        let store = try sessionStore()
        do {
            let path = try store.path(for: selector)
            try store.delete(path)
            if path == sessionPath {
                sessionPath = nil
                notice("Deleted this chat's saved copy; it is saved again with the next message.")
            } else {
                notice("Deleted \(path).")
            }
        } catch {
            throw Refusal(description: "\(error)")
        }
    }

    /// `/sessions`: the saved chats, newest first.
    public func listSessions() throws {
        let store = try sessionStore()
        let all = store.list()
        guard !all.isEmpty else { return notice("No saved chats yet in \(store.directory).") }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let lines = all.prefix(20).enumerated().map { index, chat in
            let current = chat.path == sessionPath ? " (this chat)" : ""
            let name = chat.name.map { "\($0) · " } ?? ""
            return "\(index + 1). \(formatter.string(from: chat.modified)) · \(name)\(chat.turns) turns · \(chat.firstLine.prefix(60))\(current)"
        }
        notice("Saved chats, newest first (/load N or NAME opens one):\n" + lines.joined(separator: "\n")
               + (all.count > 20 ? "\n… and \(all.count - 20) older" : ""))
    }

    /// `/save [FILE]`: the chat as markdown.
    public func export(to path: String?) {
        let target = path.map { ($0 as NSString).expandingTildeInPath } ?? "qwentty-chat-\(Int(started.timeIntervalSince1970)).md"
        do {
            try AtomicFile.write(savedChat().markdown(), to: target)
            notice("Saved the chat to \(target).")
        } catch {
            notice("\(error)")
        }
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

    /// The chat as it is saved.
    public func savedChat() -> SavedChat {
        var chat = SavedChat(model: modelPath, systemPrompt: systemPrompt, created: started, conversation: conversation)
        chat.name = sessionName
        chat.settings = settings.saved
        return chat
    }

    // MARK: Engine events

    private func handle(_ event: Engine.Event) {
        switch event {
        case .sentiment(let request, let result):
            if let message = badgeRequests.removeValue(forKey: request) {
                conversation.update(message) {
                    $0.set(sentiment: Message.Sentiment(label: result.label, probability: result.probability, latencySeconds: result.latencySeconds))
                }
                if !isBusy { saveSession() }
            }
            emit(.sentimentMeasured(latencySeconds: result.latencySeconds))
        case .firstToken(let request, let first) where request == reply?.request:
            emit(.firstToken(first))
        case .token(let request, let text, let rate, let recent) where request == reply?.request:
            if let message = reply?.message { conversation.update(message) { $0.append(text) } }
            emit(.tokenArrived(decodeTokensPerSecond: rate, recentTokensPerSecond: recent))
        case .replyDone(let request, let summary) where request == reply?.request:
            guard let message = reply?.message else { break }
            reply = nil
            finishReply(message, summary)
        case .contextTrimmed(let request, let trim) where request == reply?.request:
            emit(.contextTrimmed(trim))
        case .firstToken, .token, .replyDone, .contextTrimmed:
            break  // a request this chat no longer waits for
        case .restored(let request, let tokens, let seconds, let dropped):
            pendingRestores.remove(request)
            emit(.contextUsed(tokens))
            guard tokens > 0 || dropped > 0 else { break }
            var note = String(format: "Context rebuilt: %d tokens in %.1f s.", tokens, seconds)
            if dropped > 0 { note += " The oldest \(dropped) messages did not fit and are not in the model's context." }
            notice(note)
        case .context(let request, let contents):
            unreported.remove(request)
            context = contents
        case .error(let request, let message):
            badgeRequests[request] = nil
            pendingRestores.remove(request)
            if let failed = reply, failed.request == request {
                reply = nil
                fail(failed, because: message)
            }
            notice("error: " + message)
        }
    }

    private func finishReply(_ message: Message.ID, _ summary: Engine.ReplySummary) {
        let stats = summary.stats
        let status: Message.Status
        switch stats.stopReason {
        case .endOfTurn: status = .complete
        case .cancelled: status = .cut
        case .maxTokens: status = .tokenLimit
        case .contextFull: status = .contextFull
        }
        conversation.update(message) { $0.set(status: status) }
        if status == .tokenLimit {
            notice("The reply stopped at the \(settings.maxReplyTokens)-token limit: /continue goes on; /set max_tokens N, -n N or max_tokens = N in the config raises it.")
        }
        if status == .contextFull {
            notice("This reply alone filled the \(model.contextSize)-token context and stopped: -c N raises it.")
        }
        // The reply's badge is background work: a message sent meanwhile goes first. It judges the answer,
        // as the screen shows it (a Qwen3 reply's thinking is not what it says). A continued reply is
        // judged whole.
        if engine.hasSentiment, let answer = conversation[message]?.answer, !answer.isEmpty {
            badgeRequests[engine.enqueue(.classify(answer, .background))] = message
        }
        emit(.replyFinished(stats, contextUsed: summary.contextUsed))
        saveSession()
    }

    /// A reply job failed. A message refused before its reply began is marked failed, with the reason,
    /// and its empty reply goes; a reply broken off keeps its text, marked failed; a continuation that
    /// failed is put back as the model still holds it. None of these is in the model's context.
    private func fail(_ failed: ReplyInProgress, because reason: String) {
        if let (text, status) = failed.continuedFrom {
            conversation.update(failed.message) { $0.replaceText(text, status: status) }
        } else if let reply = conversation[failed.message], reply.text.isEmpty,
                  let index = conversation.index(of: failed.message), index > 0,
                  conversation.messages[index - 1].role == .user {
            let user = conversation.messages[index - 1].id
            conversation.remove([failed.message])
            conversation.update(user) { $0.set(status: .failed(reason)) }
        } else {
            conversation.update(failed.message) { $0.set(status: .failed(reason)) }
        }
        emit(.replyFailed(failed.message))
        saveSession()
    }

    // MARK: Internals

    private func refuseWhileBusy() throws {
        if isBusy { throw Refusal(description: busyReason) }
    }

    private func notice(_ text: String) {
        emit(.notice(text))
    }

    private func emit(_ event: Event) {
        events.append(event)
    }

    /// Remembers a job that changes the context, until the engine reports the context after it.
    private func track(_ request: Engine.RequestID) {
        unreported.insert(request)
    }

    private func startReply(_ request: Engine.RequestID, into message: Message.ID,
                            continuing before: (text: String, status: Message.Status)? = nil) {
        track(request)
        reply = ReplyInProgress(request: request, message: message, continuedFrom: before)
        emit(.replyStarted(message))
        saveSession()
    }

    /// Feeds the conversation's exchanges (nothing refused or broken off) to the engine afresh.
    private func rebuildContext() {
        let exchanges = conversation.exchanges.map { ChatSession.Exchange(id: $0.id, user: $0.user.text, reply: $0.reply.text) }
        let request = engine.enqueue(.restore(exchanges, systemPrompt: systemPrompt))
        track(request)
        pendingRestores.insert(request)
    }

    /// Sends the settings replies are made with (sampling, reply limit, thinking) to the engine.
    private func sendSettings() {
        engine.enqueue(.configure(settings.sampler, maxReplyTokens: settings.maxReplyTokens, thinking: settings.thinking))
    }

    /// A model whose chat template qwentty does not render says so when it is loaded.
    private func noteTemplate() {
        if let warning = engine.template.warning { notice("Chat template: " + warning + ".") }
    }

    private func sessionStore() throws -> SessionStore {
        guard let store = options.sessions else {
            throw Refusal(description: "Sessions are not being saved (--no-save).")
        }
        return store
    }

    /// Writes after every change (atomically), so a crash or a dropped SSH connection loses nothing. A
    /// failed write is said once and tried again with every later change.
    private func saveSession() {
        // Nothing is written until the first message; after that every change is (an /edit may empty it).
        guard let store = options.sessions, sessionPath != nil || conversation.userMessageCount > 0 else { return }
        let path = sessionPath ?? store.newPath(startedAt: Date())
        sessionPath = path
        do {
            try store.save(savedChat(), to: path)
            if savingFails {
                savingFails = false
                notice("The chat is being saved again (\(path)).")
            }
        } catch {
            if !savingFails { notice("The chat could not be saved: \(error). Trying again with every change.") }
            savingFails = true
        }
    }

    private static func summary(of engine: Engine) -> ModelSummary {
        let loaded = engine.loaded
        let config = loaded.model.config
        return ModelSummary(name: config.name, architecture: config.architecture.rawValue, weightTypes: loaded.weightTypeSummary,
                            weightTypeMix: loaded.weightTypeMix, contextSize: engine.contextSize,
                            trainedContext: config.trainedContext, threads: loaded.pool.threadCount,
                            loadSeconds: loaded.loadSeconds, byteCount: loaded.source.byteCount, layers: config.layerCount,
                            hiddenSize: config.hiddenSize, heads: config.headCount, kvHeads: config.kvHeadCount)
    }

    // MARK: Model loads

    /// `/model FILE`, `/set ctx N` and a chat saved at another context: loads the model (the same file when
    /// `path` is nil) with the context size asked for (the current one when nil) into a new engine, on a
    /// thread of its own (`ModelLoad`); `finishLoad` switches to it and rebuilds the conversation there.
    /// Until then the old engine stays: a file that fails to load, or a load given up with Esc, changes
    /// nothing. The conversation waits meanwhile (`isBusy`), so that what is rebuilt is what is shown.
    private func reload(path: String?, contextSize: Int?, chatContext: Bool = false) {
        var sampler = settings.sampler
        sampler.seed = UInt64.random(in: 0 ... UInt64(UInt32.max))
        let target = path ?? modelPath
        var isFolder: ObjCBool = false
        let folder = FileManager.default.fileExists(atPath: target, isDirectory: &isFolder) && isFolder.boolValue
        let request = ModelLoad.Request(path: target, contextSize: contextSize ?? engine.contextSize,
                                        threads: engine.loaded.pool.threadCount, sampler: sampler,
                                        systemPrompt: systemPrompt, maxReplyTokens: settings.maxReplyTokens,
                                        quantizeTo: folder ? options.quantizeTo : nil,
                                        cachePrecision: engine.loaded.model.cachePrecision, chatContext: chatContext)
        do {
            pendingLoad = try ModelLoad(request)
        } catch {
            return notice("\(error); keeping \(modelPath).")
        }
        notice("Loading \(request.path) with a \(request.contextSize)-token context… (Esc gives it up)")
    }

    /// A load failed or was given up: the engine in use stays (and rebuilds a chat opened meanwhile).
    private func keepEngine(after load: ModelLoad, because reason: String) {
        pendingLoad = nil
        notice("\(reason); keeping \(modelPath) with a \(engine.contextSize)-token context.")
        if pendingLoadOpensChat {
            pendingLoadOpensChat = false
            rebuildContext()
        }
    }

    /// The load has finished: switch to its engine (the old one is shut down) and rebuild the conversation
    /// on it, or say why not and keep the old one.
    private func finishLoad(_ load: ModelLoad, _ outcome: Result<Engine, Error>) {
        let next: Engine
        switch outcome {
        case .failure(let error):
            return keepEngine(after: load, because: "\(error)")
        case .success(let engine):
            next = engine
        }
        pendingLoad = nil
        pendingLoadOpensChat = false
        engine.shutdown()
        engine = next
        modelPath = load.request.path
        if load.request.chatContext { settings.contextSize = load.request.contextSize }
        // A `/set` made while the model loaded went to the old engine: the new one gets today's values.
        sendSettings()
        badgeRequests = [:]
        unreported = []
        pendingRestores = []
        model = Self.summary(of: next)
        context = Engine.ContextContents(exchanges: [], tokens: [], contextSize: next.contextSize)
        conversation.adopt(recognisesThinking: supportsThinking)
        emit(.modelChanged)
        emit(.contextUsed(0))
        var note = "Model \(model.name) (\(model.weightTypes)) from \(load.request.path), context \(model.contextSize) tokens"
        if load.request.contextSize > model.contextSize { note += " (the model's maximum)" }
        notice(note + String(format: ", loaded in %.0f ms.", model.loadSeconds * 1000))
        noteTemplate()
        if !conversation.exchanges.isEmpty { rebuildContext() }
        saveSession()
    }
}
