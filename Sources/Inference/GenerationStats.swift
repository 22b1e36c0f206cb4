import Foundation

/// Timings of one generation, named as llama.cpp and ollama report them.
public struct GenerationStats: Sendable, Equatable, Codable {
    /// Tokens prefilled ("prompt eval") and how long that took.
    public var promptTokens = 0
    public var promptSeconds = 0.0
    /// Tokens generated ("eval") and the time spent decoding them (after the first token).
    public var evalTokens = 0
    public var evalSeconds = 0.0
    /// From the start of the request to the first token's text being ready.
    public var timeToFirstToken = 0.0
    /// Why generation stopped.
    public var stopReason: StopReason = .endOfTurn

    public enum StopReason: String, Sendable, Codable {
        case endOfTurn = "eot", maxTokens = "max_tokens", cancelled, contextFull = "context_full"
    }

    public init() {}

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    /// Decode speed over the tokens after the first (the first one's cost is in the prompt time).
    public var evalTokensPerSecond: Double { evalSeconds > 0 ? Double(max(0, evalTokens - 1)) / evalSeconds : 0 }
}
