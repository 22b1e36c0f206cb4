import Foundation
import Inference

/// What `/set` changes while chatting: the sampler and the reply limit, with ollama's names (and the
/// short ones of qwentty's own flags), checked before they reach the engine.
public struct RuntimeSettings: Equatable {
    public var sampler: SamplerSettings
    public var maxReplyTokens: Int
    /// The context this chat asked for with `/set ctx` (nil: the run's `-c` or config). It is a setting of
    /// the model load, so the chat controller applies it (by loading the model again), not the engine.
    public var contextSize: Int?
    /// Qwen3: whether the model thinks before it answers (`/think on|off`; the template's default is on).
    public var thinking = true

    public init(sampler: SamplerSettings, maxReplyTokens: Int) {
        self.sampler = sampler
        self.maxReplyTokens = maxReplyTokens
    }

    /// What `/set` changes, in the order it lists them (`ctx` and `system` are the chat's: see
    /// `ChatController.set`).
    static let keys: [SamplingParameter] = [.temperature, .topK, .topP, .minP, .repeatPenalty, .maxTokens]

    public enum SettingError: Error, CustomStringConvertible, Equatable {
        case unknownKey(String)
        case badValue(SamplingParameter.Invalid)

        public var description: String {
            switch self {
            case .unknownKey(let key):
                return "/set: unknown setting '\(key)'; settings: " + RuntimeSettings.keys.map(\.rawValue).joined(separator: ", ") + ", ctx, system"
            case .badValue(let invalid):
                return "/set \(invalid)"
            }
        }
    }

    /// Sets `key` to `value` and returns the line that says what changed.
    public mutating func set(_ key: String, _ value: String) throws -> String {
        guard let parameter = SamplingParameter.named(key), Self.keys.contains(parameter) else {
            throw SettingError.unknownKey(key)
        }
        let number: Double
        do {
            number = try parameter.parse(value)
        } catch let invalid as SamplingParameter.Invalid {
            throw SettingError.badValue(invalid)
        }
        if parameter == .maxTokens { maxReplyTokens = Int(number) } else { sampler.set(parameter, number) }
        return "Set \(parameter.rawValue) = \(self.value(of: parameter)). " + summary
    }

    private func value(of parameter: SamplingParameter) -> String {
        switch parameter {
        case .temperature: return Self.format(sampler.temperature)
        case .topK: return "\(sampler.topK)"
        case .topP: return Self.format(sampler.topP)
        case .minP: return Self.format(sampler.minP)
        case .repeatPenalty: return Self.format(sampler.repetitionPenalty)
        case .maxTokens: return "\(maxReplyTokens)"
        case .contextSize: return contextSize.map(String.init) ?? "the run's"
        }
    }

    /// Every setting on one line, as `/set` with no argument shows them.
    public var summary: String {
        "Settings: " + Self.keys.map { "\($0.rawValue) \(value(of: $0))" }.joined(separator: " · ")
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
    public static var minimumContext: Int { SamplingParameter.minimumContext }

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
            do {
                contextSize = Int(try SamplingParameter.contextSize.check(Double(ctx)))
            } catch {
                problems.append("/set \(error)")
            }
        }
        return problems
    }
}
