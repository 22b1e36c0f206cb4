import Foundation

/// What the sentiment classifier tells the model, shows it and asks it: one value, so a prompt can be
/// tried from a JSON file (`qwentty sentiment --prompt FILE`) without rebuilding, and the built-in one is
/// a plain value that tests and the README can name.
///
/// The rendered prompt is a chat: the instruction as the system turn, each example as an earlier
/// user turn (`request` + text) answered by its label, then the message as the last user turn and the
/// assistant header. Everything up to the message is fixed, so the classifier prefills it once and
/// keeps it in its own KV cache: examples cost nothing per message.
public struct SentimentPrompt: Codable, Equatable, Sendable {
    /// A class and the words that stand for it. The class's score is log Σ p(word) over its words (each
    /// word's probability is the product of its tokens' probabilities after the assistant header), so
    /// "Positive" and "positive" both count for the class; `bias` is added to that score.
    public struct Label: Codable, Equatable, Sendable {
        public var name: String
        public var words: [String]
        public var bias: Double

        public init(name: String, words: [String]? = nil, bias: Double = 0) {
            self.name = name
            self.words = words ?? [name]
            self.bias = bias
        }

        enum CodingKeys: String, CodingKey { case name, words, bias }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            words = try c.decodeIfPresent([String].self, forKey: .words) ?? [name]
            bias = try c.decodeIfPresent(Double.self, forKey: .bias) ?? 0
        }
    }

    /// A worked example, shown to the model as an earlier exchange.
    public struct Example: Codable, Equatable, Sendable {
        public var text: String
        public var label: String

        public init(_ text: String, _ label: String) {
            self.text = text
            self.label = label
        }
    }

    /// The system turn.
    public var instruction: String
    /// Written before each message (and each example) in its user turn.
    public var request: String
    public var labels: [Label]
    public var examples: [Example]

    public init(instruction: String, request: String, labels: [Label], examples: [Example] = []) {
        self.instruction = instruction
        self.request = request
        self.labels = labels
        self.examples = examples
    }

    enum CodingKeys: String, CodingKey { case instruction, request, labels, examples }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        instruction = try c.decode(String.self, forKey: .instruction)
        request = try c.decodeIfPresent(String.self, forKey: .request) ?? ""
        labels = try c.decode([Label].self, forKey: .labels)
        examples = try c.decodeIfPresent([Example].self, forKey: .examples) ?? []
    }

    public var labelNames: [String] { labels.map(\.name) }

    /// Reads a prompt from a JSON file (keys as in `CodingKeys`; `request`, `examples`, `words` and `bias`
    /// may be left out).
    public static func load(path: String) throws -> SentimentPrompt {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PromptError("\(path): cannot be read (\(error.localizedDescription))")
        }
        do {
            return try JSONDecoder().decode(SentimentPrompt.self, from: data)
        } catch {
            throw PromptError("\(path): not a sentiment prompt (JSON with instruction, request, labels): \(error)")
        }
    }

    public struct PromptError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
