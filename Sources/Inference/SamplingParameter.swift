/// The settings a user can give a reply, each with its one range and its words: `run` and `chat` flags,
/// `/set`, the config file, a saved chat and a folder's `generation_config.json` all check values here,
/// so a value one of them accepts the others accept too, and a refusal reads the same everywhere.
import Foundation
public enum SamplingParameter: String, CaseIterable, Sendable {
    case temperature = "temp"
    case topK = "top_k"
    case topP = "top_p"
    case minP = "min_p"
    case repeatPenalty = "repeat_penalty"
    case maxTokens = "max_tokens"
    case contextSize = "ctx"

    /// Other names it goes by (ollama's, llama.cpp's, Hugging Face's).
    public var aliases: [String] {
        switch self {
        case .temperature: return ["temperature"]
        case .repeatPenalty: return ["repetition_penalty"]
        case .maxTokens: return ["num_predict", "n"]
        case .contextSize: return ["ctx_size", "num_ctx"]
        case .topK, .topP, .minP: return []
        }
    }

    public var range: ClosedRange<Double> {
        switch self {
        case .temperature: return 0 ... 5
        case .topK: return 0 ... 1_000_000
        case .topP: return 0.000_001 ... 1
        case .minP: return 0 ... 0.999_999
        case .repeatPenalty: return 0.01 ... 10
        case .maxTokens: return 1 ... Double(1 << 20)
        case .contextSize: return Double(Self.minimumContext) ... Double(1 << 24)
        }
    }

    /// The smallest context a chat can run in (a system turn, a message and a reply's start).
    public static let minimumContext = 16

    public var isWholeNumber: Bool {
        switch self {
        case .topK, .maxTokens, .contextSize: return true
        case .temperature, .topP, .minP, .repeatPenalty: return false
        }
    }

    /// What a refusal says is expected.
    public var expected: String {
        switch self {
        case .temperature: return "a number from 0 (greedy) to 5"
        case .topK: return "a whole number, 0 to disable"
        case .topP: return "a number above 0 and at most 1 (1 disables)"
        case .minP: return "a number from 0 (disabled) to below 1"
        case .repeatPenalty: return "a number from 0.01 to 10 (1 disables)"
        case .maxTokens: return "a whole number of tokens, at least 1"
        case .contextSize: return "a token count of at least \(Self.minimumContext)"
        }
    }

    /// The parameter `name` means, by its name or an alias (any case).
    public static func named(_ name: String) -> SamplingParameter? {
        let lowered = name.lowercased()
        return allCases.first { $0.rawValue == lowered || $0.aliases.contains(lowered) }
    }

    /// A value out of range, or not a number of the right kind.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let parameter: SamplingParameter
        public let value: String
        public var description: String { "\(parameter.rawValue): expected \(parameter.expected), got '\(value)'" }
    }

    public func accepts(_ value: Double) -> Bool {
        value.isFinite && range.contains(value) && (!isWholeNumber || value.rounded() == value)
    }

    /// `text` as this parameter's value, or `Invalid`.
    public func parse(_ text: String) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value = isWholeNumber ? Int(trimmed).map(Double.init) : Double(trimmed)
        guard let value, accepts(value) else { throw Invalid(parameter: self, value: text) }
        return value
    }

    /// `value` checked, or `Invalid` naming it as given.
    public func check(_ value: Double) throws -> Double {
        guard accepts(value) else { throw Invalid(parameter: self, value: Self.format(value)) }
        return value
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension SamplerSettings {
    /// Sets a sampling parameter (`maxTokens` and `contextSize` are not the sampler's: unchanged).
    public mutating func set(_ parameter: SamplingParameter, _ value: Double) {
        switch parameter {
        case .temperature: temperature = Float(value)
        case .topK: topK = Int(value)
        case .topP: topP = Float(value)
        case .minP: minP = Float(value)
        case .repeatPenalty: repetitionPenalty = Float(value)
        case .maxTokens, .contextSize: break
        }
    }

    /// Greedy decoding (temperature 0) is plain greedy: without a penalty asked for, none applies.
    public mutating func applyGreedyDefault(penaltyGiven: Bool) {
        if temperature == 0, !penaltyGiven { repetitionPenalty = 1 }
    }
}
