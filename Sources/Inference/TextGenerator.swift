import Essentials
import Tokenizer
import Transformer

/// One event of a generation as the caller sees it.
public struct GeneratedToken: Sendable {
    /// The sampled token; nil for the final flush of bytes held back by the streaming decoder.
    public let sample: SampledToken?
    /// The text this token completes (may be empty mid-character; never half a UTF-8 character).
    public let text: String
}

/// The prefill-then-decode loop shared by raw prompts and chat turns.
public final class TextGenerator {
    public let model: QwenModel
    public let tokenizer: QwenTokenizer

    /// Stops besides the tokenizer's own: a folder's `generation_config.json` `eos_token_id`s.
    public let extraStopTokens: Set<Int32>

    public init(model: QwenModel, tokenizer: QwenTokenizer, extraStopTokens: Set<Int32> = []) {
        self.model = model
        self.tokenizer = tokenizer
        self.extraStopTokens = extraStopTokens
    }

    /// Token ids that end generation: the file's end-of-sequence and end-of-turn tokens, and any the
    /// folder's generation config names (every other control token ends it too).
    public var stopTokens: Set<Int32> {
        Set([tokenizer.eosID, tokenizer.eotID, tokenizer.imEndID, tokenizer.id(of: "<|endoftext|>")].compactMap { $0 })
            .union(extraStopTokens)
    }

    public struct Result {
        public var stats: GenerationStats
        public var tokens: [Int32]
        /// The stop token that ended the reply; sampled but *not* fed to the model, so a chat session
        /// can feed it together with its next turn.
        public var stopToken: Int32?
    }

    /// Prefills `prompt` on top of `cache`, then samples up to `maxTokens` tokens, calling `onToken` for
    /// each; `onToken` returns false to cancel. Every generated token is in the cache when this returns,
    /// so a cancelled or truncated reply can be continued consistently, and the text streamed is exactly
    /// the text the model remembers.
    ///
    /// When a sampled token finds the cache full, `makeRoom` is asked to free space; it gets the reply's
    /// tokens already in the cache and returns true when the cache now holds a shorter conversation
    /// ending with them (a chat drops its oldest exchanges); false ends the reply with `.contextFull`, and
    /// that token, which the model could not take in, is not part of the reply.
    public func generate(prompt: [Int32], cache: KVCache, sampler: inout Sampler, maxTokens: Int,
                         history: [Int32] = [], alternatives: Int = 0,
                         makeRoom: (_ fedReply: [Int32]) throws -> Bool = { _ in false },
                         onToken: (GeneratedToken) -> Bool) throws -> Result {
        var stats = GenerationStats()
        let start = monotonicSeconds()
        try model.forward(prompt, cache: cache)
        stats.promptTokens = prompt.count
        stats.promptSeconds = monotonicSeconds() - start

        let stops = stopTokens
        var recent = history + prompt
        var generated: [Int32] = []
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var decodeStart = start
        var unfed: Int32?
        var stopToken: Int32?
        stats.stopReason = .maxTokens
        while true {
            if let token = unfed {
                try model.forward([token], cache: cache)
                unfed = nil
            }
            guard generated.count < maxTokens else { break }
            let sample = sampler.sample(model.logits, vocabularySize: model.config.vocabularySize,
                                        recent: recent[...], alternatives: alternatives)
            if generated.isEmpty {
                decodeStart = monotonicSeconds()
                stats.timeToFirstToken = decodeStart - start
            }
            // Any other control token (`<|im_start|>`, `<|fim_prefix|>`, …) would open a turn or a mode inside
            // the reply, which is never text of it: it ends the reply too.
            if stops.contains(sample.id) || tokenizer.type(of: sample.id) == .control {
                stats.stopReason = .endOfTurn
                stopToken = sample.id
                break
            }
            if cache.count >= cache.contextSize, !(try makeRoom(generated)) {
                stats.stopReason = .contextFull
                break
            }
            generated.append(sample.id)
            recent.append(sample.id)
            unfed = sample.id
            guard onToken(GeneratedToken(sample: sample, text: decoder.append(sample.id))) else {
                stats.stopReason = .cancelled
                break
            }
        }
        if let token = unfed, stats.stopReason == .cancelled {
            try model.forward([token], cache: cache)
        }
        stats.evalTokens = generated.count
        stats.evalSeconds = generated.isEmpty ? 0 : monotonicSeconds() - decodeStart
        let tail = decoder.finish()
        if !tail.isEmpty { _ = onToken(GeneratedToken(sample: nil, text: tail)) }
        return Result(stats: stats, tokens: generated, stopToken: stopToken)
    }
}
