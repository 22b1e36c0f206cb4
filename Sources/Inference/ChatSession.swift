import Essentials
import Tokenizer
import Transformer

/// A conversation whose KV cache persists across turns, so each turn prefills only its own tokens.
///
/// The session holds the tokens the model has seen, not the conversation's text: the text is recorded
/// once, by the chat's owner (`ChatController`'s `Conversation`), and comes back here only to rebuild
/// (`restore`). Each exchange is held under the `ExchangeID` its caller gave it, so "take this one back"
/// and "go on with this reply" name what they mean, and `exchanges` says what the context holds.
///
/// The cache always holds exactly the rendered conversation so far: the tokens `apply_chat_template`
/// gives for it. A reply that ended on `<|im_end|>` leaves that token unfed (it was sampled, not
/// computed); it is fed, with the turn separator, at the start of the next turn. A reply cut short
/// (cancel, token limit) is closed the same way. With Qwen3's template, when the next message comes, the
/// reply is first settled into the form the template gives an earlier reply (`settleLastReply`): its
/// reasoning leaves the conversation.
///
/// When the context fills (before a message, or in the middle of a reply) the oldest whole exchanges
/// leave it: the system prompt stays, the rest is prefilled again at its new positions (exact, unlike
/// shifting cached keys), and the reply goes on. Half the context is kept, so that the next trim is
/// far away; `onTrim` reports each one.
///
/// A trim can be prepared ahead (`prepareTrim`, in the engine's idle time): as soon as the next trim can be
/// planned (from about half the context, or right after the last trim), what it will keep — the system
/// turn and the newest exchanges, about half the context by the time it comes — is prefilled into a
/// second cache, in chunks that give way to a new message and keep what they finished. The trim then copies
/// those positions over and prefills only what came after them: the same tokens at the same positions as a
/// re-prefill, without the pause.
/// How many leading tokens two sequences share: how much of a cache computed for one holds for the other.
private func commonPrefixLength<A: Sequence, B: Sequence>(_ a: A, _ b: B) -> Int where A.Element == Int32, B.Element == Int32 {
    zip(a, b).prefix { $0 == $1 }.count
}

public final class ChatSession {
    public let generator: TextGenerator
    public let template: ChatTemplate
    public let cache: KVCache
    /// Every token in the cache, in order (what the repetition penalty and a later session copy see).
    public private(set) var tokens: [Int32] = []
    /// Exchanges (a user message and its reply) in the cache, oldest first; older ones may have been
    /// trimmed. Parallel to `turnStarts`.
    public private(set) var exchanges: [ExchangeID] = []
    public var exchangeCount: Int { exchanges.count }
    /// Ids for exchanges whose caller names none (`qwentty run`, tests): negative, so they never meet a
    /// chat's own.
    private var nextAutomaticID = -1
    /// Where each exchange starts in `tokens`: the first holds the system turn, every later one starts
    /// with the closing of the reply before it. Where to cut to take a turn back.
    private var turnStarts: [Int] = []
    /// Tokens of the system turn at the head of `tokens` (kept by every trim).
    private var systemLength = 0
    public var systemPrompt: String?
    /// Qwen3 only: whether the model may think before answering (an empty think block disables it).
    public var thinking: Bool
    /// The second cache a trim is prepared in, made the first time one is (a chat that never fills its
    /// context never touches its memory).
    private var spare: KVCache?
    /// The trim being prepared: the exchange it keeps first, the tokens it keeps (system turn, then the
    /// history from that exchange on), and how many of them `spare` holds.
    private var plannedTrim: (firstKept: ExchangeID, tokens: [Int32], prepared: Int)?
    /// The room a message's reply is given before a trim (the last `send`'s: its limit, at most a quarter of
    /// the context), which says where the next trim comes.
    private var replyRoom: Int
    /// Tokens prefilled per step of `prepareTrim`: each step is kept when a later one is interrupted.
    /// Small, so that a slow box's short idle times still finish some (a chunk a message interrupts is
    /// computed again), yet a batch the kernels run at nearly their full prefill rate.
    static let trimChunk = 32

    /// How far the next trim is prepared: what the stats pane shows ("next trim ready").
    public struct TrimReadiness: Sendable, Equatable {
        /// Messages the trim will drop.
        public let droppedMessages: Int
        /// Of the tokens it keeps, how many are prefilled in the second cache already.
        public let preparedTokens: Int
        public let tokens: Int
        /// The conversation is within a quarter of the context of the trim: the next few messages bring it.
        public let isNear: Bool
        public var isReady: Bool { preparedTokens == tokens }
    }

    /// A trim: the oldest messages leave the model's context and the rest is prefilled again. Reported
    /// twice: before the prefill (`seconds` nil), so a screen can say why the reply pauses, and after it.
    public struct ContextTrim: Sendable, Equatable {
        public let droppedMessages: Int
        /// Tokens prefilled at the trim (what the reply waits for).
        public let prefilledTokens: Int
        /// Tokens taken from the trim prepared ahead (`prepareTrim`) instead of prefilled.
        public let preparedTokens: Int
        public let seconds: Double?
    }

    /// One exchange of a saved conversation, as `restore` rebuilds it.
    public struct Exchange: Sendable, Equatable {
        public let id: ExchangeID
        public let user: String
        public let reply: String
        public init(id: ExchangeID, user: String, reply: String) {
            self.id = id
            self.user = user
            self.reply = reply
        }
    }

    public enum ChatError: Error, CustomStringConvertible, Equatable {
        case messageTooLong(tokens: Int, contextSize: Int)
        case nothingToContinue
        case notTheLastReply(ExchangeID)
        public var description: String {
            switch self {
            case .nothingToContinue:
                return "there is no reply to continue yet"
            case .notTheLastReply:
                return "that reply is no longer the last one in the model's context, so it cannot be continued"
            case .messageTooLong(let tokens, let size):
                return "the message is \(tokens) tokens with the system prompt, and the context holds \(size); shorten it or raise --ctx-size"
            }
        }
    }

    public init(generator: TextGenerator, template: ChatTemplate, contextSize: Int? = nil,
                systemPrompt: String? = nil, thinking: Bool = true) {
        self.generator = generator
        self.template = template
        cache = generator.model.makeCache(contextSize: contextSize)
        replyRoom = cache.contextSize / 4
        self.systemPrompt = systemPrompt
        self.thinking = thinking
    }

    /// The system turn a new conversation starts with (the template's default when none is set).
    private var systemTokens: [Int32] {
        if let system = systemPrompt { return template.turn(ChatTurn(role: .system, content: system)) }
        return template.render([], addGenerationPrompt: false)
    }

    /// What closes a reply before the next turn: `<|im_end|>` and the separator.
    private var closing: [Int32] { [template.endOfTurn] + template.turnSeparator }

    /// A user turn and the assistant header after it.
    private func userTurn(_ text: String) -> [Int32] {
        template.turn(ChatTurn(role: .user, content: text)) + template.generationPrompt(thinking: thinking)
    }

    /// Tokens that the next user turn must prefill: the closing of the previous reply (if any), the
    /// system prompt (first turn only), the user turn and the assistant header.
    public func pendingTokens(forUserText text: String) -> [Int32] {
        (tokens.isEmpty ? systemTokens : closing) + userTurn(text)
    }

    /// Sends a user message and streams the reply through `onToken` (return false to cancel). Old
    /// exchanges are trimmed as needed (`onTrim` hears of each trim); a message that cannot fit even
    /// alone is refused with `ChatError.messageTooLong` and changes nothing.
    public func send(_ text: String, id: ExchangeID? = nil, sampler: inout Sampler, maxTokens: Int,
                     onTrim: (ContextTrim) -> Void = { _ in },
                     onToken: (GeneratedToken) -> Bool) throws -> TextGenerator.Result {
        let system = tokens.isEmpty ? systemTokens : Array(tokens[..<systemLength])
        let turn = userTurn(text)
        guard system.count + turn.count < cache.contextSize else {
            throw ChatError.messageTooLong(tokens: system.count + turn.count, contextSize: cache.contextSize)
        }
        try settleLastReply()
        if tokens.isEmpty { systemLength = system.count }
        var prompt = pendingTokens(forUserText: text)
        // Room for the prompt and a fair part of the reply; trimming now is cheaper than in mid-reply.
        replyRoom = min(max(0, maxTokens), cache.contextSize / 4)
        if cache.count + prompt.count + replyRoom > cache.contextSize,
           let rest = try trimOldest(inProgress: prompt, fed: false, onTrim: onTrim) {
            prompt = rest
        }
        return try respond(turn: prompt, feeding: prompt.count, id: id ?? automaticID(), sampler: &sampler, maxTokens: maxTokens,
                           onTrim: onTrim, onToken: onToken)
    }

    /// Goes on with the reply of exchange `id` (nil: the last one) where it stopped (the token limit, Esc,
    /// a full context), streaming the new text through `onToken`; the reply grows by it. Throws
    /// `nothingToContinue` before the first reply and `notTheLastReply` when `id` is not the last
    /// exchange held.
    public func continueReply(_ id: ExchangeID? = nil, sampler: inout Sampler, maxTokens: Int,
                              onTrim: (ContextTrim) -> Void = { _ in },
                              onToken: (GeneratedToken) -> Bool) throws -> TextGenerator.Result {
        guard let start = turnStarts.last, let last = exchanges.last, tokens.count > start, cache.count == tokens.count else {
            throw ChatError.nothingToContinue
        }
        if let id, id != last { throw ChatError.notTheLastReply(id) }
        let turn = Array(tokens[start...])
        // The exchange leaves the record while it grows; its last token is fed again, for fresh logits (the
        // classifier shares the model and may have run since).
        turnStarts.removeLast()
        exchanges.removeLast()
        tokens.removeSubrange(start...)
        cache.truncate(to: cache.count - 1)
        do {
            return try respond(turn: turn, feeding: 1, id: last, sampler: &sampler, maxTokens: maxTokens, onTrim: onTrim,
                               onToken: onToken)
        } catch {
            // Put the exchange back as it was, or start over if even that fails.
            do {
                cache.truncate(to: tokens.count)
                try generator.model.forward(turn, cache: cache)
                turnStarts.append(tokens.count)
                exchanges.append(last)
                tokens += turn
            } catch {
                reset()
            }
            throw error
        }
    }

    /// Generates the reply of the turn in progress, `turn` (as it follows `tokens`), whose last `feeding`
    /// tokens are not in the cache yet, and records the exchange.
    private func respond(turn: [Int32], feeding: Int, id: ExchangeID, sampler: inout Sampler, maxTokens: Int,
                         onTrim: (ContextTrim) -> Void,
                         onToken: (GeneratedToken) -> Bool) throws -> TextGenerator.Result {
        var turn = turn
        var start = tokens.count
        let result: TextGenerator.Result
        do {
            result = try generator.generate(prompt: Array(turn.suffix(feeding)), cache: cache, sampler: &sampler, maxTokens: maxTokens,
                                            history: tokens + turn.dropLast(feeding), makeRoom: { fedReply in
                guard let rest = try trimOldest(inProgress: turn + fedReply, fed: true, onTrim: onTrim) else { return false }
                turn = Array(rest.dropLast(fedReply.count))
                start = tokens.count
                return true
            }, onToken: onToken)
        } catch {
            cache.truncate(to: start)  // the turn never happened: the cache still matches `tokens`
            throw error
        }
        // On a full context the last token may not have been fed: keep the list equal to the cache.
        tokens = Array((tokens + turn + result.tokens).prefix(cache.count))
        turnStarts.append(start)
        exchanges.append(id)
        return result
    }

    /// Rewrites the last reply into the tokens Qwen3's template gives it once a user message follows,
    /// from the first token that differs: the reasoning (or the empty think block of a reply made with
    /// thinking off) goes, and the answer moves up and is encoded afresh from its text, as
    /// `apply_chat_template` and the tokenizer would. Other templates write a reply as it was said, so its
    /// sampled tokens stay (as llama.cpp keeps them).
    private func settleLastReply() throws {
        guard template.supportsThinking, let exchange = turnStarts.last, cache.count == tokens.count,
              let header = tokens[exchange...].lastIndex(of: template.generationPrompt()[0]) else { return }
        let opening = template.generationPrompt()
        guard tokens[header...].starts(with: opening) else { return }
        let reply = generator.tokenizer.decode(Array(tokens[(header + opening.count)...]))
        let settled = template.replyTurn(template.replyContent(reply, keepsReasoning: false))
        let held = tokens[header...]
        let same = commonPrefixLength(settled, held)
        guard same < settled.count || same < held.count else { return }
        cache.truncate(to: header + same)
        do {
            if same < settled.count { try generator.model.forward(Array(settled[same...]), cache: cache) }
        } catch {
            reset()  // the cache no longer matches anything: start over rather than lie
            throw error
        }
        tokens = Array(tokens[..<(header + same)] + settled[same...])
    }

    /// Drops the fewest oldest exchanges that bring the conversation (with the turn in progress) down
    /// to half the context, or as close as the turn allows, and prefills what stays after the system
    /// turn. `inProgress` is the current turn as it follows `tokens` (its prompt, and the reply so far
    /// when `fed`: then it is in the cache and is prefilled again too). Returns the trim and the turn in
    /// progress as it now follows `tokens`, or nil when nothing can be dropped to make room.
    private func trimOldest(inProgress: [Int32], fed: Bool, onTrim: (ContextTrim) -> Void) throws -> [Int32]? {
        let exchanges = turnStarts.count
        guard exchanges > 0 else { return nil }
        let all = tokens + inProgress
        let starts = turnStarts + [tokens.count]  // the turn in progress starts where the history ends
        // Keeping exchanges k... : the system turn, then everything from exchange k on without its closing.
        func keptLength(_ k: Int) -> Int { systemLength + all.count - (starts[k] + closing.count) }
        var k = 1
        while k < exchanges, keptLength(k) > cache.contextSize / 2 { k += 1 }
        // A trim prepared ahead keeps what it planned, as long as that leaves a quarter of the context free.
        if let plan = plannedTrim, let planned = self.exchanges.firstIndex(of: plan.firstKept), planned >= 1,
           keptLength(planned) <= cache.contextSize * 3 / 4 {
            k = planned
        }
        guard keptLength(k) < cache.contextSize else { return nil }

        let began = monotonicSeconds()
        let shift = starts[k] + closing.count - systemLength
        let kept = Array(all[..<systemLength]) + all[(starts[k] + closing.count)...]
        let historyLength = k == exchanges ? 0 : starts[exchanges] - shift
        let feedEnd = fed ? kept.count : historyLength
        let unchanged = min(systemLength, feedEnd)  // the system turn keeps its positions and its cache
        // What the prepared trim holds of the kept tokens (at the same positions): copied, not prefilled.
        var ready = unchanged
        if let plan = plannedTrim, spare != nil {
            ready = max(unchanged, min(plan.prepared, commonPrefixLength(plan.tokens, kept[..<feedEnd])))
        }
        onTrim(ContextTrim(droppedMessages: 2 * k, prefilledTokens: feedEnd - ready, preparedTokens: ready - unchanged, seconds: nil))
        if ready > unchanged, let spare {
            cache.copyPositions(ready, from: spare)
        } else {
            cache.truncate(to: unchanged)
        }
        plannedTrim = nil  // the next trim keeps other exchanges at other positions
        do {
            if ready < feedEnd { try generator.model.forward(Array(kept[ready ..< feedEnd]), cache: cache) }
        } catch {
            reset()  // the cache no longer matches anything: start over rather than lie
            throw error
        }
        tokens = Array(kept[..<historyLength])
        turnStarts = k == exchanges ? [] : [0] + starts[(k + 1) ..< exchanges].map { $0 - shift }
        self.exchanges.removeFirst(k)
        onTrim(ContextTrim(droppedMessages: 2 * k, prefilledTokens: feedEnd - ready, preparedTokens: ready - unchanged,
                           seconds: monotonicSeconds() - began))
        return Array(kept[historyLength...])
    }

    /// The trim the next one will be, as far as it can be known before the next message: the index of the
    /// first exchange it keeps, and the tokens it keeps (the system turn, then the history from that
    /// exchange on). The trim comes when a message and its reply's room (`replyRoom`) no longer fit, and
    /// leaves about half the context: so it drops the oldest exchanges that hold at least that point less
    /// half the context, however long the history is when the plan is made, and the plan can be made as
    /// soon as the history is longer than that (from about half the context, or right after the last trim):
    /// the more idle time it has, the less of it the trim computes. Nil while the trim would keep no whole
    /// exchange (the system turn alone needs no preparing). A plan under way stands while the trim can
    /// still use it.
    private func nextTrim() -> (keep: Int, tokens: [Int32])? {
        let size = cache.contextSize
        let trimPoint = size - replyRoom
        guard cache.count == tokens.count, turnStarts.count >= 2 else { return nil }
        func keptLength(_ k: Int) -> Int { systemLength + tokens.count - (turnStarts[k] + closing.count) }
        var k = 1
        if let plan = plannedTrim, let planned = exchanges.firstIndex(of: plan.firstKept), planned >= 1,
           keptLength(planned) <= size * 11 / 16 {
            k = planned
        } else {
            let drop = trimPoint - size / 2
            while k < turnStarts.count, turnStarts[k] + closing.count - systemLength < drop { k += 1 }
            guard k < turnStarts.count else { return nil }
        }
        return (k, keptTokens(from: k))
    }

    /// What a trim that keeps exchanges `k...` leaves: the system turn, then the history from exchange k on.
    private func keptTokens(from k: Int) -> [Int32] {
        Array(tokens[..<systemLength]) + tokens[(turnStarts[k] + closing.count)...]
    }

    /// How much of `tokens` (the next trim's) the second cache already holds: the plan's prepared part, as
    /// far as it still matches.
    private func preparedLength(of tokens: [Int32]) -> Int {
        plannedTrim.map { min($0.prepared, commonPrefixLength($0.tokens, tokens)) } ?? 0
    }

    /// The second cache, made the first time a trim is prepared.
    private func spareCache() -> KVCache {
        if let spare { return spare }
        let made = generator.model.makeCache(contextSize: cache.contextSize)
        spare = made
        return made
    }

    /// How far the next trim is prepared; nil while none can be planned.
    public var trimReadiness: TrimReadiness? {
        guard let next = nextTrim() else { return nil }
        let prepared = preparedLength(of: next.tokens)
        return TrimReadiness(droppedMessages: 2 * next.keep, preparedTokens: prepared, tokens: next.tokens.count,
                             isNear: tokens.count > cache.contextSize - replyRoom - cache.contextSize / 4)
    }

    /// Prefills what the next trim keeps into the second cache, going on from what an earlier call
    /// prepared as far as the conversation has not changed under it. `interrupt` is checked between
    /// layers: when it fires, `ForwardError.interrupted` is thrown and the finished chunks are kept. Does
    /// nothing while no trim can be planned.
    public func prepareTrim(interrupt: (() -> Bool)? = nil) throws {
        guard let next = nextTrim() else {
            plannedTrim = nil
            return
        }
        let spare = spareCache()
        var done = preparedLength(of: next.tokens)
        plannedTrim = (exchanges[next.keep], next.tokens, done)
        while done < next.tokens.count {
            spare.truncate(to: done)
            let end = min(done + Self.trimChunk, next.tokens.count)
            try generator.model.forward(Array(next.tokens[done ..< end]), cache: spare, interrupt: interrupt)
            done = end
            plannedTrim?.prepared = done
        }
    }

    /// The prepared part of the next trim, to be saved beside the context (`ContextCacheFile`), so a chat
    /// resumed near its trim does not prepare it again; nil when nothing beyond the system turn is prepared.
    public var preparedTrim: (tokens: [Int32], cache: KVCache)? {
        guard let plan = plannedTrim, let spare, plan.prepared > systemLength, exchanges.contains(plan.firstKept) else { return nil }
        return (Array(plan.tokens[..<plan.prepared]), spare)
    }

    /// Takes a prepared trim saved by an earlier run (`preparedTrim`) as the plan for the next trim, as far
    /// as its tokens are what that trim would keep of this conversation (the system turn, then the history
    /// from one of its exchanges on); false when they are not, or the file cannot be read.
    @discardableResult
    public func adoptPreparedTrim(_ file: ContextCacheFile) -> Bool {
        guard turnStarts.count >= 2, cache.count == tokens.count, file.tokens.count > systemLength,
              file.tokens.starts(with: tokens[..<systemLength]) else { return false }
        var best: (keep: Int, shared: Int)?
        for k in 1 ..< turnStarts.count {
            let shared = commonPrefixLength(file.tokens, keptTokens(from: k))
            if shared > systemLength, shared > best?.shared ?? 0 { best = (k, shared) }
        }
        guard let best else { return false }
        do {
            try file.load(into: spareCache())
        } catch {
            return false
        }
        plannedTrim = (exchanges[best.keep], keptTokens(from: best.keep), best.shared)
        return true
    }

    /// Forgets the conversation (the cache is reused).
    public func reset() {
        cache.truncate(to: 0)
        tokens = []
        turnStarts = []
        exchanges = []
        systemLength = 0
        plannedTrim = nil
    }

    /// Takes back exchange `id` and every exchange after it, so it can be edited or regenerated; false
    /// when the context does not hold it (never recorded, or trimmed). Only the cache is cut: nothing
    /// before that turn is recomputed.
    @discardableResult
    public func drop(_ id: ExchangeID) -> Bool {
        guard let index = exchanges.firstIndex(of: id) else { return false }
        let start = turnStarts[index]
        turnStarts.removeSubrange(index...)
        exchanges.removeSubrange(index...)
        cache.truncate(to: start)
        tokens.removeSubrange(start...)
        if tokens.isEmpty { systemLength = 0 }
        return true
    }

    /// Takes back the last exchange; false when there is none.
    @discardableResult
    public func dropLastExchange() -> Bool {
        exchanges.last.map(drop) ?? false
    }

    private func automaticID() -> ExchangeID {
        defer { nextAutomaticID -= 1 }
        return ExchangeID(nextAutomaticID)
    }

    /// Rebuilds the conversation from saved `history` (alternating user and assistant messages), feeding
    /// it as one prefill: what a resumed session or a changed system prompt needs. When it does not fit
    /// in `budget` tokens, the oldest exchanges are left out; returns how many messages were.
    ///
    /// Each exchange is encoded once and the exchanges that fit are found from the newest back, so a long
    /// saved chat costs time in proportion to its length (it took 11 s for 400 exchanges when every
    /// exchange dropped re-encoded all the others).
    @discardableResult
    public func restore(_ history: [ChatTurn], budget: Int? = nil) throws -> Int {
        var pairs: [Exchange] = []
        var index = 0
        while index + 1 < history.count {
            if history[index].role == .user, history[index + 1].role == .assistant {
                pairs.append(Exchange(id: automaticID(), user: history[index].content, reply: history[index + 1].content))
                index += 2
            } else {
                index += 1
            }
        }
        return try restore(pairs, budget: budget).droppedMessages + history.count - 2 * pairs.count
    }

    /// What a rebuild did.
    public struct Restoration: Sendable, Equatable {
        /// Messages left out (the oldest, that did not fit).
        public let droppedMessages: Int
        /// Tokens whose keys and values came from a saved context cache instead of a prefill.
        public let reusedTokens: Int
        /// Why the saved context cache offered was not used, if it was not.
        public let savedContextProblem: ContextCacheFile.Problem?
    }

    /// Rebuilds the conversation from `pairs`, oldest first, as one prefill, leaving out the oldest that
    /// do not fit in `budget` tokens.
    ///
    /// With `saved`, a context cache from an earlier run: the exchanges it holds are kept when they fit
    /// the context (a chat resumed after a trim holds what it held, not what the budget would pick), and
    /// the longest common prefix of its tokens and the new render is read from it; only the rest is
    /// prefilled. A file that turns out damaged is reported and the whole render prefilled: it costs
    /// time, never correctness.
    public func restore(_ pairs: [Exchange], budget: Int? = nil, reusing saved: ContextCacheFile? = nil) throws -> Restoration {
        reset()
        let limit = min(budget ?? cache.contextSize, cache.contextSize)
        // A saved cache may hold more than the budget (the live chat grew up to its next trim).
        let reach = saved == nil ? limit : cache.contextSize
        let system = systemTokens
        // Newest first: add exchanges while the system turn, the closings between them and they fit.
        var bodies: [(id: ExchangeID, tokens: [Int32], userLength: Int)] = []
        var lengths: [Int] = []  // the render's length with the newest 1, 2, … exchanges
        var length = system.count
        for (index, pair) in pairs.enumerated().reversed() {
            // The last reply as the cache holds a reply just made (Qwen3 keeps its reasoning), earlier ones
            // as the template re-renders them.
            let content = template.replyContent(pair.reply, keepsReasoning: index == pairs.count - 1)
            let user = template.turn(ChatTurn(role: .user, content: pair.user))
            let body = user + template.replyTurn(content)
            let added = body.count + (bodies.isEmpty ? 0 : closing.count)
            guard length + added <= reach else { break }
            bodies.append((pair.id, body, user.count))
            length += added
            lengths.append(length)
        }
        func render(_ kept: Int) -> [Int32] {
            var all = system
            for (i, body) in bodies[..<kept].reversed().enumerated() {
                if i > 0 { all += closing }
                all += body.tokens
            }
            return all
        }
        var kept = lengths.lastIndex { $0 <= limit }.map { $0 + 1 } ?? 0
        var all = render(kept)
        var reusable = saved.map { commonPrefixLength($0.tokens, all) } ?? 0
        if let saved {
            for n in 1 ... max(1, bodies.count) where n <= bodies.count && n != kept {
                let candidate = render(n)
                let shared = commonPrefixLength(saved.tokens, candidate)
                if shared > max(reusable, system.count) { (kept, all, reusable) = (n, candidate, shared) }
            }
        }
        if let saved, kept > 0 {
            // A reply is held as the model sampled it, which may not be how its text encodes: where the
            // file's tokens for a reply decode to the reply's text, they are the reply, as in the live chat.
            while reusable < min(all.count, saved.tokens.count) {
                var end = system.count
                var body = kept - 1
                while body > 0, end + bodies[body].tokens.count <= reusable {
                    end += bodies[body].tokens.count + closing.count
                    body -= 1
                }
                let start = body == kept - 1 ? system.count : end
                let replyStart = start + bodies[body].userLength
                let replyEnd = start + bodies[body].tokens.count
                guard reusable >= replyStart, reusable < replyEnd else { break }
                let savedEnd = saved.tokens[reusable...].firstIndex(of: template.endOfTurn) ?? saved.tokens.count
                let held = Array(saved.tokens[replyStart ..< savedEnd])
                guard generator.tokenizer.decode(held) == generator.tokenizer.decode(Array(all[replyStart ..< replyEnd])) else { break }
                bodies[body].tokens = Array(bodies[body].tokens[..<bodies[body].userLength]) + held
                all = render(kept)
                let shared = commonPrefixLength(saved.tokens, all)
                guard shared > reusable else { break }
                reusable = shared
            }
        }
        let dropped = 2 * (pairs.count - kept)
        guard kept > 0 else { return Restoration(droppedMessages: dropped, reusedTokens: 0, savedContextProblem: nil) }
        // Where each exchange starts: the first at 0 (with the system turn), each later one at its closing.
        var position = 0
        for (i, body) in bodies[..<kept].reversed().enumerated() {
            turnStarts.append(i == 0 ? 0 : position)
            position = i == 0 ? system.count + body.tokens.count : position + closing.count + body.tokens.count
            exchanges.append(body.id)
        }
        var reused = 0
        var problem: ContextCacheFile.Problem?
        if let saved, reusable > 0 {
            do {
                try saved.load(into: cache)
                cache.truncate(to: reusable)
                reused = reusable
            } catch {
                problem = error as? ContextCacheFile.Problem ?? .unreadable("\(error)")
                cache.truncate(to: 0)
            }
        } else if saved != nil {
            problem = .otherChat
        }
        do {
            if reused < all.count { try generator.model.forward(Array(all[reused...]), cache: cache) }
        } catch {
            reset()
            throw error
        }
        tokens = all
        systemLength = system.count
        return Restoration(droppedMessages: dropped, reusedTokens: reused, savedContextProblem: problem)
    }
}
