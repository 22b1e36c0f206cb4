import Essentials
import Foundation
import Kernels
import Tokenizer
import Transformer

/// Sentiment of a message from the chat model itself: one model, two tasks, switched by prompt.
///
/// The prompt (`SentimentPrompt`) is a chat: instruction, worked examples as earlier exchanges, then the
/// message. Instead of generating an answer, the next-token log-probabilities of each label's words are
/// read off the logits after the assistant header: a word's log-probability is the sum of its tokens'
/// (teacher-forced), a label's score is log Σ p(word) over its words, and the probabilities are the
/// softmax of the scores plus the labels' biases. One prefill per message, no sampling.
///
/// The prompt is a concatenation of token ids: prefix (system turn, examples, the start of the user turn
/// and its request) + the message, tokenized on its own + suffix (end of turn, assistant header). The
/// prefix never changes, so it is prefilled once into this classifier's own KV cache and each message
/// only prefills its own tokens and the suffix on top of it. The chat session's cache is never touched.
public final class SentimentClassifier {
    public struct Result: Sendable {
        public let label: String
        public let probability: Float
        /// Probability of every label, in `labels` order (they sum to 1), biases applied.
        public let probabilities: [Float]
        /// Each label's raw score: log Σ p(word) over its words, straight from the model (before the
        /// label's bias).
        public let scores: [Double]
        public let latencySeconds: Double
        /// Message tokens left out of the window the classifier reads (0 for messages that fit).
        public let truncatedTokens: Int

        public init(label: String, probability: Float, probabilities: [Float], scores: [Double],
                    latencySeconds: Double, truncatedTokens: Int) {
            self.label = label
            self.probability = probability
            self.probabilities = probabilities
            self.scores = scores
            self.latencySeconds = latencySeconds
            self.truncatedTokens = truncatedTokens
        }
    }

    /// Longest message, in tokens, that is read whole; a longer one is read as its beginning and its end
    /// (three quarters and one quarter of this). A reply's tone is set by how it opens and how it closes,
    /// and the bound keeps a badge for a 2 000-token reply as cheap as one for a short one.
    public static let defaultWindow = 128

    public let prompt: SentimentPrompt
    public var labels: [String] { prompt.labelNames }
    public let prefixTokens: [Int32]
    public let suffixTokens: [Int32]
    /// Per label, per word: the word's tokens.
    public let labelWords: [[[Int32]]]
    /// See `defaultWindow` (smaller only when the model's context is).
    public let window: Int
    /// Positions this classifier's cache holds: the fixed prompt, a message window and the answer.
    public let contextNeeded: Int
    private let model: QwenModel
    private let tokenizer: QwenTokenizer
    private let cache: KVCache
    /// Tokens of the fixed prompt already in the cache: it is prefilled in chunks, so background work
    /// that is interrupted keeps what it finished.
    public private(set) var prefixTokensCached = 0
    /// Whether the whole fixed prompt is in the cache (then a message costs only its own tokens).
    public var prefixReady: Bool { prefixTokensCached == prefixTokens.count }
    /// Chunk size of an interruptible prefix prefill (a whole-prompt batch when nothing can interrupt).
    static let prefixChunk = 128
    private var logprobScratch: [Float] = []

    public init(model: QwenModel, tokenizer: QwenTokenizer, template: ChatTemplate,
                prompt: SentimentPrompt = .builtIn, window: Int = defaultWindow) throws {
        guard prompt.labels.count >= 2 else { throw ClassifierError.tooFewLabels }
        self.model = model
        self.tokenizer = tokenizer
        self.prompt = prompt
        labelWords = prompt.labels.map { label in label.words.map { tokenizer.encode($0) } }
        for (label, words) in zip(prompt.labels, labelWords) where words.isEmpty || words.contains(where: \.isEmpty) {
            throw ClassifierError.emptyLabel(label.name)
        }
        for example in prompt.examples where !prompt.labels.contains(where: { $0.name == example.label }) {
            throw ClassifierError.unknownExampleLabel(example.label)
        }
        suffixTokens = [template.endOfTurn] + template.turnSeparator + template.generationPrompt(thinking: false)
        let longestWord = labelWords.joined().map(\.count).max() ?? 1
        prefixTokens = Self.prefix(prompt, template: template, tokenizer: tokenizer)
        self.window = max(4, min(window, model.maxContext - prefixTokens.count - suffixTokens.count - longestWord))
        let context = prefixTokens.count + self.window + suffixTokens.count + longestWord
        guard context <= model.maxContext else {
            throw ClassifierError.promptTooLong(tokens: context, contextSize: model.maxContext)
        }
        contextNeeded = context
        cache = model.makeCache(contextSize: context)
    }

    /// The classifier a chat uses, and a line for the chat when it is not the usual one. The built-in
    /// prompt, when its cache (the prompt, a whole message window and the answer) fits the positions the
    /// model was loaded with and takes at most a quarter of the context it was trained for; otherwise the
    /// short built-in prompt (definitions, no examples: less accurate, see the README); otherwise none, and
    /// the line says why there are no badges.
    public static func forChat(model: QwenModel, tokenizer: QwenTokenizer,
                               template: ChatTemplate) -> (classifier: SentimentClassifier?, note: String?) {
        let room = min(model.maxContext, model.config.trainedContext)
        var fullProblem = ""
        do {
            let full = try SentimentClassifier(model: model, tokenizer: tokenizer, template: template, prompt: .builtIn)
            if full.window == defaultWindow, full.contextNeeded <= model.config.trainedContext / 4 { return (full, nil) }
            fullProblem = "the full one needs \(full.contextNeeded) positions, more than a quarter of this model's \(model.config.trainedContext)"
        } catch ClassifierError.promptTooLong(let tokens, _) {
            fullProblem = "the full one needs \(tokens) positions and this model has \(room)"
        } catch {
            return (nil, "No sentiment badges: \(error).")
        }
        do {
            let short = try SentimentClassifier(model: model, tokenizer: tokenizer, template: template, prompt: .short)
            return (short, "Sentiment badges use the short prompt, without examples (\(fullProblem)): they are less accurate.")
        } catch ClassifierError.promptTooLong(let tokens, _) {
            return (nil, "No sentiment badges: even the short sentiment prompt needs \(tokens) positions and this model has \(room).")
        } catch {
            return (nil, "No sentiment badges: \(error).")
        }
    }

    /// System turn, the examples as earlier exchanges (answered by their label's first word), and the
    /// start of the user turn up to the message.
    private static func prefix(_ prompt: SentimentPrompt, template: ChatTemplate, tokenizer: QwenTokenizer) -> [Int32] {
        var prefix = template.turn(ChatTurn(role: .system, content: prompt.instruction))
        for example in prompt.examples {
            let answer = prompt.labels.first { $0.name == example.label }?.words.first ?? example.label
            prefix += template.turn(ChatTurn(role: .user, content: prompt.request + example.text))
            prefix += template.generationPrompt(thinking: false) + tokenizer.encode(answer) + [template.endOfTurn] + template.turnSeparator
        }
        return prefix + template.turnStart(.user) + tokenizer.encode(prompt.request)
    }

    public enum ClassifierError: Error, CustomStringConvertible {
        case tooFewLabels, emptyLabel(String), unknownExampleLabel(String), promptTooLong(tokens: Int, contextSize: Int)
        public var description: String {
            switch self {
            case .tooFewLabels: return "sentiment needs at least two labels"
            case .emptyLabel(let l): return "label '\(l)' has a word that encodes to no tokens"
            case .unknownExampleLabel(let l): return "a sentiment example has label '\(l)', which is not one of the prompt's labels"
            case .promptTooLong(let tokens, let size):
                return "the sentiment prompt needs \(tokens) tokens of context but the model was loaded with \(size)"
            }
        }
    }

    /// The message tokens as classified: the whole message, or its beginning and end when it is longer
    /// than `window`; and how many tokens were left out.
    public func messageTokens(for text: String) -> (tokens: [Int32], truncated: Int) {
        let message = tokenizer.encode(text)
        guard message.count > window else { return (message, 0) }
        let tail = window / 4
        return (Array(message.prefix(window - tail) + message.suffix(tail)), message.count - window)
    }

    /// The full prompt for `text` (prefix + message + suffix), as classified.
    public func promptTokens(for text: String) -> (tokens: [Int32], truncated: Int) {
        let (message, truncated) = messageTokens(for: text)
        return (prefixTokens + message + suffixTokens, truncated)
    }

    /// Classifies `text`. With `usePrefixCache` off, the prefix is prefilled again (for measurement and
    /// for the test that both ways give the same answer). `interrupt` is passed to the forward passes:
    /// when it fires, `ForwardError.interrupted` is thrown and nothing is lost (the prefix stays cached).
    public func classify(_ text: String, usePrefixCache: Bool = true, interrupt: (() -> Bool)? = nil) throws -> Result {
        let start = monotonicSeconds()
        let (message, truncated) = messageTokens(for: text)
        let scores = try rawScores(message, usePrefixCache: usePrefixCache, interrupt: interrupt)
        let probabilities = withBiases(scores)
        let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
        return Result(label: labels[best], probability: probabilities[best], probabilities: probabilities, scores: scores,
                      latencySeconds: monotonicSeconds() - start, truncatedTokens: truncated)
    }

    /// Probabilities from raw scores: each label's bias added, then the softmax.
    func withBiases(_ scores: [Double]) -> [Float] {
        let adjusted = scores.indices.map { scores[$0] + prompt.labels[$0].bias }
        let top = adjusted.max() ?? 0
        let weights = adjusted.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { Float($0 / total) }
    }

    /// Prefills the fixed prompt into this classifier's cache, if not done yet (the first `classify` does
    /// it otherwise). Interrupted, it keeps the chunks it finished and goes on from there when called again.
    /// `upTo`: stop after that many of its tokens (the engine spends the first ones at load).
    public func preparePrefix(interrupt: (() -> Bool)? = nil, upTo limit: Int? = nil) throws {
        let chunk = interrupt == nil ? prefixTokens.count : Self.prefixChunk
        let last = min(limit ?? prefixTokens.count, prefixTokens.count)
        while prefixTokensCached < last {
            cache.truncate(to: prefixTokensCached)
            let end = min(prefixTokensCached + chunk, last)
            try model.forward(Array(prefixTokens[prefixTokensCached ..< end]), cache: cache, interrupt: interrupt)
            prefixTokensCached = end
        }
    }

    /// Each label's log Σ p(word) for `message` after the prompt.
    private func rawScores(_ message: [Int32], usePrefixCache: Bool, interrupt: (() -> Bool)?) throws -> [Double] {
        if usePrefixCache {
            try preparePrefix(interrupt: interrupt)
            cache.truncate(to: prefixTokens.count)
            try model.forward(message + suffixTokens, cache: cache, interrupt: interrupt)
        } else {
            cache.truncate(to: 0)
            prefixTokensCached = 0
            try model.forward(prefixTokens + message + suffixTokens, cache: cache, interrupt: interrupt)
        }
        let promptEnd = cache.count
        let firstStep = logSoftmax()
        var scores: [Double] = []
        for words in labelWords {
            var wordScores: [Double] = []
            for tokens in words {
                var score = Double(firstStep[Int(tokens[0])])
                // Later tokens of a multi-token word: feed the word so far, read the next token's logprob.
                for i in 1 ..< max(1, tokens.count) {
                    try model.forward([tokens[i - 1]], cache: cache, interrupt: interrupt)
                    score += Double(logSoftmax()[Int(tokens[i])])
                }
                cache.truncate(to: promptEnd)
                wordScores.append(score)
            }
            let top = wordScores.max() ?? 0
            scores.append(top + log(wordScores.reduce(0) { $0 + exp($1 - top) }))
        }
        return scores
    }

    /// Log-softmax of the model's current logits (into a reused buffer).
    private func logSoftmax() -> [Float] {
        let n = model.config.vocabularySize
        if logprobScratch.count != n { logprobScratch = [Float](repeating: 0, count: n) }
        let logZ = logSumExp(model.logits, count: n)
        for i in 0 ..< n { logprobScratch[i] = model.logits[i] - logZ }
        return logprobScratch
    }
}
