import Foundation
import Inference
import Kernels
import Transformer

/// Another model, or the same one at another context, loaded beside the one in use; the chat moves to it.
extension ChatController {
    /// `/model FILE`, `/set ctx N` and a chat saved at another context: loads the model (the same file when
    /// `path` is nil) with the context size asked for (the current one when nil) into a new engine, on a
    /// thread of its own (`ModelLoad`); `finishLoad` switches to it and rebuilds the conversation there.
    /// Until then the old engine stays: a file that fails to load, or a load given up with Esc, changes
    /// nothing. The conversation waits meanwhile (`isBusy`), so that what is rebuilt is what is shown.
    func reload(path: String?, contextSize: Int?, chatContext: Bool = false) {
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
    func keepEngine(after load: ModelLoad, because reason: String) {
        pendingLoad = nil
        notice("\(reason); keeping \(modelPath) with a \(engine.contextSize)-token context.")
        if pendingLoadOpensChat {
            pendingLoadOpensChat = false
            rebuildContext(opening: true)
        }
    }

    /// The load has finished: switch to its engine (the old one is shut down) and rebuild the conversation
    /// on it, or say why not and keep the old one.
    func finishLoad(_ load: ModelLoad, _ outcome: Result<Engine, Error>) {
        let next: Engine
        switch outcome {
        case .failure(let error):
            return keepEngine(after: load, because: "\(error)")
        case .success(let engine):
            next = engine
        }
        pendingLoad = nil
        let opening = pendingLoadOpensChat
        pendingLoadOpensChat = false
        engine.shutdown()
        contextSaveRequest = nil
        openingRestore = nil
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
        noteModel()
        if !conversation.exchanges.isEmpty { rebuildContext(opening: opening) }
        saveSession()
    }
}
