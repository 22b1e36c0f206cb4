import Essentials
import Foundation
import Inference
import Transformer

/// The chat on disk: saved after every change, listed, opened, named, deleted, exported.
extension ChatController {
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
        rebuildContext(opening: true)
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
            options.contextCache?.remove(forSession: path)
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

    /// The chat as it is saved.
    public func savedChat() -> SavedChat {
        var chat = SavedChat(model: modelPath, systemPrompt: systemPrompt, created: started, conversation: conversation)
        chat.name = sessionName
        chat.settings = settings.saved
        return chat
    }

    /// Writes after every change (atomically), so a crash or a dropped SSH connection loses nothing. A
    /// failed write is said once and tried again with every later change.
    func saveSession() {
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
}
