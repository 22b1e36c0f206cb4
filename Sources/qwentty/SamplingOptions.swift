import ArgumentParser
import Foundation
import Inference

/// The sampling flags `run` and `chat` share, checked by `SamplingParameter` as `/set`, the config file
/// and `generation_config.json` are. Each falls back to the config file (chat), then to the model's
/// defaults (a folder's generation_config.json, else Qwen2.5-Instruct's).
struct SamplingOptions: ParsableArguments {
    @Option(name: .long, help: "Temperature; 0 is greedy (default: a model folder's generation_config.json, else 0.7).")
    var temp: Float?
    @Option(name: .long, help: "Top-k, 0 disables (default: generation_config.json, else 20).")
    var topK: Int?
    @Option(name: .long, help: "Top-p, 1 disables (default: generation_config.json, else 0.8).")
    var topP: Float?
    @Option(name: .long, help: "Min-p, 0 disables (default: generation_config.json, else 0).")
    var minP: Float?
    @Option(name: .long, help: "Repetition penalty, 1 disables (default: generation_config.json, else 1.05; 1 with --temp 0, which is then plain greedy).")
    var repeatPenalty: Float?
    @Option(name: .long, help: "Random seed (default: random).")
    var seed: UInt64?

    private var given: [(SamplingParameter, Double?)] {
        [(.temperature, temp.map(Double.init)), (.topK, topK.map(Double.init)), (.topP, topP.map(Double.init)),
         (.minP, minP.map(Double.init)), (.repeatPenalty, repeatPenalty.map(Double.init))]
    }

    func validate() throws {
        for (parameter, value) in given {
            guard let value else { continue }
            guard parameter.accepts(value) else {
                throw ValidationError("--\(parameter.flagName) must be \(parameter.expected)")
            }
        }
    }

    /// The sampler settings: these flags, then `fallback` (the config file's), on top of `defaults`.
    func settings(defaults: SamplerSettings, fallback: [SamplingParameter: Double] = [:]) -> SamplerSettings {
        var settings = defaults
        for (parameter, value) in given {
            if let value = value ?? fallback[parameter] { settings.set(parameter, value) }
        }
        settings.applyGreedyDefault(penaltyGiven: repeatPenalty != nil || fallback[.repeatPenalty] != nil)
        settings.seed = seed ?? UInt64.random(in: 0 ... UInt64(UInt32.max))
        return settings
    }
}

extension SamplingParameter {
    /// The command-line flag's name (`--top-k`).
    var flagName: String { rawValue == "temp" ? "temp" : rawValue.replacingOccurrences(of: "_", with: "-") }
}
