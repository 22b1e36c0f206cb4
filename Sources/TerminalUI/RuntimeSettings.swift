import Foundation
import Inference

/// What `/set` changes while chatting: the sampler and the reply limit, with ollama's names (and the
/// short ones of qwentty's own flags), checked before they reach the engine.
public struct RuntimeSettings: Equatable {
    public var sampler: SamplerSettings
    public var maxReplyTokens: Int
    /// The context this chat asked for with `/set ctx` (nil: the run's `-c` or config). It is a setting of
    /// the model load, so the chat screen applies it (by loading the model again), not the engine.
    public var contextSize: Int?
    /// Qwen3: whether the model thinks before it answers (`/think on|off`; the template's default is on).
    public var thinking = true

    public init(sampler: SamplerSettings, maxReplyTokens: Int) {
        self.sampler = sampler
        self.maxReplyTokens = maxReplyTokens
    }

    /// Each key with its accepted spellings, in the order `/set` lists them.
    static let keys: [(name: String, aliases: [String])] = [
        ("temp", ["temperature"]), ("top_k", []), ("top_p", []), ("min_p", []),
        ("repeat_penalty", ["repetition_penalty"]), ("max_tokens", ["num_predict", "n"]),
    ]

    public enum SettingError: Error, CustomStringConvertible, Equatable {
        case unknownKey(String)
        case badValue(key: String, value: String, expected: String)

        public var description: String {
            switch self {
            case .unknownKey(let key):
                return "/set: unknown setting '\(key)'; settings: " + RuntimeSettings.keys.map(\.name).joined(separator: ", ") + ", ctx, system"
            case .badValue(let key, let value, let expected):
                return "/set \(key): expected \(expected), got '\(value)'"
            }
        }
    }

    /// Sets `key` to `value` and returns the line that says what changed.
    public mutating func set(_ key: String, _ value: String) throws -> String {
        let lowered = key.lowercased()
        guard let name = Self.keys.first(where: { $0.name == lowered || $0.aliases.contains(lowered) })?.name else {
            throw SettingError.unknownKey(key)
        }
        func number(_ range: ClosedRange<Float>, _ expected: String) throws -> Float {
            guard let v = Float(value), v.isFinite, range.contains(v) else { throw SettingError.badValue(key: name, value: value, expected: expected) }
            return v
        }
        func integer(_ range: ClosedRange<Int>, _ expected: String) throws -> Int {
            guard let v = Int(value), range.contains(v) else { throw SettingError.badValue(key: name, value: value, expected: expected) }
            return v
        }
        switch name {
        case "temp": sampler.temperature = try number(0 ... 5, "a number from 0 (greedy) to 5")
        case "top_k": sampler.topK = try integer(0 ... 1_000_000, "a whole number, 0 to disable")
        case "top_p": sampler.topP = try number(0.000_001 ... 1, "a number above 0 and at most 1 (1 disables)")
        case "min_p": sampler.minP = try number(0 ... 0.999_999, "a number from 0 (disabled) to below 1")
        case "repeat_penalty": sampler.repetitionPenalty = try number(0.01 ... 10, "a number from 0.01 to 10 (1 disables)")
        default: maxReplyTokens = try integer(1 ... 1 << 20, "a whole number of tokens, at least 1")
        }
        return "Set \(name) = \(self.value(of: name)). " + summary
    }

    private func value(of name: String) -> String {
        switch name {
        case "temp": return Self.format(sampler.temperature)
        case "top_k": return "\(sampler.topK)"
        case "top_p": return Self.format(sampler.topP)
        case "min_p": return Self.format(sampler.minP)
        case "repeat_penalty": return Self.format(sampler.repetitionPenalty)
        default: return "\(maxReplyTokens)"
        }
    }

    /// Every setting on one line, as `/set` with no argument shows them.
    public var summary: String {
        "Settings: " + Self.keys.map { "\($0.name) \(value(of: $0.name))" }.joined(separator: " · ")
    }

    private static func format(_ v: Float) -> String { "\(v)" }

    /// What a saved chat keeps of them (keys as `/set` names them), so a resumed chat samples as it did.
    public struct Saved: Codable, Equatable {
        public var temp: Float, top_k: Int, top_p: Float, min_p: Float, repeat_penalty: Float, max_tokens: Int
        /// Absent in chats that never used `/set ctx` (and in files from before it was saved).
        public var ctx: Int?
        /// Absent in files from before `/think`.
        public var think: Bool?
    }

    /// The smallest context `/set ctx` takes (and a saved chat may ask for).
    public static let minimumContext = 16

    public var saved: Saved {
        Saved(temp: sampler.temperature, top_k: sampler.topK, top_p: sampler.topP, min_p: sampler.minP,
              repeat_penalty: sampler.repetitionPenalty, max_tokens: maxReplyTokens, ctx: contextSize, think: thinking)
    }

    /// Takes the saved values back through `set`, so a hand-edited file gets the same checks as `/set`;
    /// returns the problems (a bad value keeps the current one). The context is only checked here: the
    /// caller loads the model again for it.
    public mutating func restore(_ saved: Saved) -> [String] {
        var problems: [String] = []
        for (key, value) in [("temp", "\(saved.temp)"), ("top_k", "\(saved.top_k)"), ("top_p", "\(saved.top_p)"),
                             ("min_p", "\(saved.min_p)"), ("repeat_penalty", "\(saved.repeat_penalty)"), ("max_tokens", "\(saved.max_tokens)")] {
            do { _ = try set(key, value) } catch { problems.append("\(error)") }
        }
        thinking = saved.think ?? true
        contextSize = nil
        if let ctx = saved.ctx {
            if ctx >= Self.minimumContext { contextSize = ctx } else { problems.append("/set ctx: expected a token count of at least \(Self.minimumContext), got '\(ctx)'") }
        }
        return problems
    }
}
