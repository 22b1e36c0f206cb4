import Foundation
import Kernels
import Tokenizer
import Transformer

/// Sentiment of a message from the chat model itself: one model, two tasks, switched by prompt.
///
/// The prompt is a chat: a fixed system instruction, a user turn "Classify the sentiment of this
/// message:" + the message, and the assistant header (with an empty think block for Qwen3). Instead of
/// generating an answer, the next-token log-probabilities of each label's tokens are read off the logits:
/// a label's score is the sum of its tokens' log-probabilities, and the probabilities are the softmax of
/// the scores over the labels. One prefill per message, no sampling.
///
/// The prompt is a concatenation of token ids: prefix (system turn and the start of the user turn) +
/// the message, tokenized on its own + suffix (end of turn, assistant header). The prefix never changes,
/// so it is prefilled once into this classifier's own KV cache and each message only prefills its own
/// tokens and the suffix on top of it. The chat session's cache is never touched.
public final class SentimentClassifier {
    public struct Result: Sendable {
        public let label: String
        public let probability: Float
        /// Probability of every label, in `labels` order (they sum to 1).
        public let probabilities: [Float]
        /// Each label's score: the sum of its tokens' log-probabilities.
        public let scores: [Double]
        public let latencySeconds: Double
        /// Message tokens that did not fit the classifier's context and were left out (0 normally).
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

    public static let defaultLabels = ["Positive", "Negative", "Neutral"]
    public static let instruction = "You are a sentiment classifier. Read the user's message and answer with exactly one word: Positive, Negative or Neutral."
    public static let request = "Classify the sentiment of this message:\n\n"

    public let labels: [String]
    public let prefixTokens: [Int32]
    public let suffixTokens: [Int32]
    public let labelTokens: [[Int32]]
    /// Longest message (in tokens) the classifier reads; longer ones are cut to their beginning.
    public let maxMessageTokens: Int
    private let model: QwenModel
    private let tokenizer: QwenTokenizer
    private let cache: KVCache
    private var prefixReady = false
    private var logprobScratch: [Float] = []

    public init(model: QwenModel, tokenizer: QwenTokenizer, template: ChatTemplate, labels: [String] = defaultLabels,
                maxMessageTokens: Int = 512) throws {
        guard labels.count >= 2 else { throw ClassifierError.tooFewLabels }
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        labelTokens = labels.map { tokenizer.encode($0) }
        if let empty = labelTokens.firstIndex(where: \.isEmpty) { throw ClassifierError.emptyLabel(labels[empty]) }
        prefixTokens = template.turn(ChatMessage(role: .system, content: Self.instruction))
            + template.turnStart(.user) + tokenizer.encode(Self.request)
        suffixTokens = [template.endOfTurn] + template.turnSeparator + template.generationPrompt(thinking: false)
        let longestLabel = labelTokens.map(\.count).max() ?? 1
        let context = min(model.maxContext, prefixTokens.count + maxMessageTokens + suffixTokens.count + longestLabel)
        self.maxMessageTokens = max(1, context - prefixTokens.count - suffixTokens.count - longestLabel)
        cache = model.makeCache(contextSize: context)
    }

    public enum ClassifierError: Error, CustomStringConvertible {
        case tooFewLabels, emptyLabel(String)
        public var description: String {
            switch self {
            case .tooFewLabels: return "sentiment needs at least two labels"
            case .emptyLabel(let l): return "label '\(l)' encodes to no tokens"
            }
        }
    }

    /// The full prompt for `text` (prefix + message + suffix), as classified.
    public func promptTokens(for text: String) -> (tokens: [Int32], truncated: Int) {
        let message = tokenizer.encode(text)
        let kept = Array(message.prefix(maxMessageTokens))
        return (prefixTokens + kept + suffixTokens, message.count - kept.count)
    }

    /// Classifies `text`. With `usePrefixCache` off, the prefix is prefilled again (for measurement and
    /// for the test that both ways give the same answer).
    public func classify(_ text: String, usePrefixCache: Bool = true) throws -> Result {
        let start = monotonicSeconds()
        let (prompt, truncated) = promptTokens(for: text)
        if usePrefixCache {
            if !prefixReady {
                cache.truncate(to: 0)
                try model.forward(prefixTokens, cache: cache)
                prefixReady = true
            }
            cache.truncate(to: prefixTokens.count)
            try model.forward(Array(prompt[prefixTokens.count...]), cache: cache)
        } else {
            cache.truncate(to: 0)
            prefixReady = false
            try model.forward(prompt, cache: cache)
        }
        let promptEnd = cache.count
        let firstStep = logSoftmax()
        var scores: [Double] = []
        for tokens in labelTokens {
            var score = Double(firstStep[Int(tokens[0])])
            // Later tokens of a multi-token label: feed the label so far, read the next token's logprob.
            for i in 1 ..< max(1, tokens.count) {
                try model.forward([tokens[i - 1]], cache: cache)
                score += Double(logSoftmax()[Int(tokens[i])])
            }
            cache.truncate(to: promptEnd)
            scores.append(score)
        }
        let top = scores.max() ?? 0
        let weights = scores.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        let probabilities = weights.map { Float($0 / total) }
        let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
        return Result(label: labels[best], probability: probabilities[best], probabilities: probabilities, scores: scores,
                      latencySeconds: monotonicSeconds() - start, truncatedTokens: truncated)
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
