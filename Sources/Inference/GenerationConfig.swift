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
        func checked(_ value: Double?, _ key: String, _ range: ClosedRange<Double>) throws -> Float? {
            guard let value else { return nil }
            guard value.isFinite, range.contains(value) else {
                throw ModelFileError(path: path, field: key, problem: "is \(value); expected \(range.lowerBound) to \(range.upperBound)")
            }
            return Float(value)
        }
        var s = base
        if let t = try checked(temperature, "temperature", 0 ... 5) { s.temperature = t }
        if let p = try checked(top_p, "top_p", 0.000_001 ... 1) { s.topP = p }
        if let p = try checked(min_p, "min_p", 0 ... 0.999_999) { s.minP = p }
        if let r = try checked(repetition_penalty, "repetition_penalty", 0.01 ... 10) { s.repetitionPenalty = r }
        if let k = top_k {
            guard (0 ... 1_000_000).contains(k) else { throw ModelFileError(path: path, field: "top_k", problem: "is \(k); expected 0 to 1000000") }
            s.topK = k
        }
        if do_sample == false {
            s.temperature = 0
            s.repetitionPenalty = 1
        }
        return s
    }
}
