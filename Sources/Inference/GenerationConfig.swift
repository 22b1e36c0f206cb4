import Foundation
import ModelFiles

/// A Hugging Face folder's `generation_config.json`, keyed as the file is: the sampling the model's authors
/// chose (Qwen2.5-Instruct: temperature 0.7, top_p 0.8, top_k 20, repetition_penalty 1.05; Qwen3: 0.6,
/// 0.95, 20) and the ids that end a reply. Options given on the command line win; a GGUF file carries
/// none of this, so it gets `SamplerSettings`' defaults (Qwen2.5-Instruct's).
public struct GenerationConfig: Decodable, Sendable, Equatable {
    public var do_sample: Bool?
    public var temperature: Double?
    public var top_k: Int?
    public var top_p: Double?
    public var min_p: Double?
    public var repetition_penalty: Double?
    /// One id or a list (Qwen2.5-Instruct: [151645, 151643], `<|im_end|>` and `<|endoftext|>`).
    public var eos_token_id: [Int]

    enum CodingKeys: String, CodingKey {
        case do_sample, temperature, top_k, top_p, min_p, repetition_penalty, eos_token_id
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do_sample = try c.decodeIfPresent(Bool.self, forKey: .do_sample)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        top_k = try c.decodeIfPresent(Int.self, forKey: .top_k)
        top_p = try c.decodeIfPresent(Double.self, forKey: .top_p)
        min_p = try c.decodeIfPresent(Double.self, forKey: .min_p)
        repetition_penalty = try c.decodeIfPresent(Double.self, forKey: .repetition_penalty)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eos_token_id) {
            eos_token_id = [one]
        } else {
            eos_token_id = try c.decodeIfPresent([Int].self, forKey: .eos_token_id) ?? []
        }
    }

    /// The file's largest plausible size: a generation config is a few hundred bytes.
    public static let maxBytes = 1 << 20

    /// The folder's generation config, or nil when it has none (it is optional).
    public static func load(directory: String) throws -> GenerationConfig? {
        let path = directory + "/generation_config.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try JSONModelFile.decode(GenerationConfig.self, path: path, maxBytes: maxBytes, missing: "missing")
    }

    /// The sampling it asks for, on top of `base` (keys it does not give keep `base`'s values), each value
    /// checked as `/set` checks it: a file cannot ask for a NaN temperature or a negative top-k.
    /// `do_sample: false` is greedy decoding.
    public func samplerSettings(base: SamplerSettings, path: String) throws -> SamplerSettings {
        var s = base
        let given: [(SamplingParameter, String, Double?)] = [
            (.temperature, "temperature", temperature), (.topK, "top_k", top_k.map(Double.init)), (.topP, "top_p", top_p),
            (.minP, "min_p", min_p), (.repeatPenalty, "repetition_penalty", repetition_penalty),
        ]
        for (parameter, key, value) in given {
            guard let value else { continue }
            guard parameter.accepts(value) else {
                throw ModelFileError(path: path, field: key, problem: "is \(value); expected \(parameter.expected)")
            }
            s.set(parameter, value)
        }
        if do_sample == false {
            s.temperature = 0
            s.applyGreedyDefault(penaltyGiven: false)
        }
        return s
    }
}
