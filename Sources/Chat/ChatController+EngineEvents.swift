import Foundation
import Inference

/// What the engine reports, applied to the conversation: a reply's text and how it stopped, badges,
/// rebuilds, the context's contents, failures.
extension ChatController {
    func handle(_ event: Engine.Event) {
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
        case .restored(let request, let rebuilt):
            pendingRestores.remove(request)
            emit(.contextUsed(rebuilt.tokens))
            let opening = openingRestore == request
            if opening { openingRestore = nil }
            if opening, let problem = rebuilt.savedContextProblem, let path = contextCachePath {
                notice("The saved context cache \(path) \(problem); the context is prefilled instead.")
            }
            guard rebuilt.tokens > 0 || rebuilt.droppedMessages > 0 else { break }
            var note: String
            if rebuilt.reusedTokens > 0 {
                note = String(format: "Context rebuilt: %d tokens (%d read from its cache, %d prefilled) in %.2f s.",
                              rebuilt.tokens, rebuilt.reusedTokens, rebuilt.tokens - rebuilt.reusedTokens, rebuilt.seconds)
            } else {
                note = String(format: "Context rebuilt: %d tokens in %.1f s.", rebuilt.tokens, rebuilt.seconds)
            }
            if rebuilt.droppedMessages > 0 {
                note += " The oldest \(rebuilt.droppedMessages) messages did not fit and are not in the model's context."
            }
            notice(note)
            // What was prefilled is kept for the next resume.
            if rebuilt.reusedTokens < rebuilt.tokens { saveContext() }
        case .contextSaved(let request, _, _):
            if contextSaveRequest == request { contextSaveRequest = nil }
            if contextSavingFails {
                contextSavingFails = false
                notice("The context cache is being kept again.")
            }
            options.contextCache?.evict(keeping: contextCachePath, sessions: options.sessions)
        case .context(let request, let contents):
            unreported.remove(request)
            context = contents
        case .error(let request, let message) where request == contextSaveRequest:
            contextSaveRequest = nil
            if !contextSavingFails { notice("The context cache could not be written (\(message)); resuming this chat will prefill it.") }
            contextSavingFails = true
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

    func finishReply(_ message: Message.ID, _ summary: Engine.ReplySummary) {
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
        saveContext()
    }

    /// A reply job failed. A message refused before its reply began is marked failed, with the reason,
    /// and its empty reply goes; a reply broken off keeps its text, marked failed; a continuation that
    /// failed is put back as the model still holds it. None of these is in the model's context.
    func fail(_ failed: ReplyInProgress, because reason: String) {
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
}
