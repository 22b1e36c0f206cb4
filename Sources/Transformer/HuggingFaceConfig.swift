import Foundation
import ModelFiles

/// A Hugging Face `config.json` for Qwen2 (Qwen1.5, Qwen2, Qwen2.5: `model_type` "qwen2") and Qwen3
/// (`qwen3`), keyed as the file is. Only what the forward pass uses is read; other keys are ignored.
public struct HuggingFaceConfig: Codable, Sendable, Equatable {
    public var model_type: String
    public var hidden_size: Int
    public var intermediate_size: Int
    public var num_hidden_layers: Int
    public var num_attention_heads: Int
    /// Absent means one key/value head per query head (no grouping).
    public var num_key_value_heads: Int?
    /// Qwen3 gives it (128 with hidden 1024 and 16 heads); absent means hidden / heads.
    public var head_dim: Int?
    public var vocab_size: Int
    public var max_position_embeddings: Int?
    /// Older files (transformers 4: all published Qwen2.5 and Qwen3 folders) give the RoPE base here…
    public var rope_theta: Double?
    /// …newer ones (transformers 5) in `rope_parameters`, with its type.
    public var rope_parameters: RopeParameters?
    /// Older files' scaling (YaRN, dynamic NTK), null for plain RoPE.
    public var rope_scaling: RopeParameters?
    public var rms_norm_eps: Double?
    /// Absent means false, as in transformers' PretrainedConfig.
    public var tie_word_embeddings: Bool?

    public struct RopeParameters: Codable, Sendable, Equatable {
        public var rope_theta: Double?
        public var rope_type: String?
        /// transformers 4 spelled `rope_type` as `type` in `rope_scaling`.
        public var type: String?
    }

    /// The file's largest plausible size: a config is a few hundred bytes.
    public static let maxBytes = 1 << 20

    public static func load(path: String) throws -> HuggingFaceConfig {
        try JSONModelFile.decode(HuggingFaceConfig.self, path: path, maxBytes: maxBytes,
                                 missing: "missing: a model folder needs config.json (and safetensors weights, tokenizer.json); -m also takes a GGUF file")
    }
}

extension ModelConfig {
    /// The engine's config from a Hugging Face one, with the same checks as a GGUF file's (errors name the
    /// config.json key). `name` is what the stats pane shows (the folder's name).
    public init(huggingFace hf: HuggingFaceConfig, name: String, path: String) throws {
        func fail(_ key: String, _ problem: String) -> ModelFileError { ModelFileError(path: path, field: key, problem: problem) }
        guard let arch = Architecture(rawValue: hf.model_type) else {
            throw fail("model_type", "'\(hf.model_type)' is not supported (qwentty runs 'qwen2' and 'qwen3': Qwen1.5, Qwen2, Qwen2.5, Qwen3)")
        }
        func positive(_ key: String, _ value: Int) throws -> Int {
            guard value > 0, value <= 1 << 20 else { throw fail(key, "value \(value) is out of range") }
            return value
        }
        architecture = arch
        self.name = name
        layerCount = try positive("num_hidden_layers", hf.num_hidden_layers)
        hiddenSize = try positive("hidden_size", hf.hidden_size)
        ffnSize = try positive("intermediate_size", hf.intermediate_size)
        headCount = try positive("num_attention_heads", hf.num_attention_heads)
        kvHeadCount = try positive("num_key_value_heads", hf.num_key_value_heads ?? hf.num_attention_heads)
        vocabularySize = try positive("vocab_size", hf.vocab_size)
        trainedContext = try positive("max_position_embeddings", hf.max_position_embeddings ?? 32768)
        if let headDim = hf.head_dim {
            headSize = try positive("head_dim", headDim)
        } else {
            guard hiddenSize % headCount == 0 else { throw fail("hidden_size", "\(hiddenSize) is not divisible by num_attention_heads \(headCount)") }
            headSize = hiddenSize / headCount
        }
        // Plain RoPE only: a scaled variant (YaRN, dynamic NTK, …) would compute different positions.
        for (key, parameters) in [("rope_parameters", hf.rope_parameters), ("rope_scaling", hf.rope_scaling)] {
            if let kind = parameters?.rope_type ?? parameters?.type, kind != "default" {
                throw fail(key, "RoPE type '\(kind)' is not supported (qwentty computes plain RoPE)")
            }
        }
        ropeBase = Float(hf.rope_theta ?? hf.rope_parameters?.rope_theta ?? 10_000)
        rmsEpsilon = Float(hf.rms_norm_eps ?? 1e-6)
        try checkShape { field, problem in
            switch field {
            case .kvHeads: return fail("num_key_value_heads", problem)
            case .headSize: return fail("head_dim", problem)
            case .ropeBase: return fail("rope_theta", problem)
            case .rmsEpsilon: return fail("rms_norm_eps", problem)
            }
        }
    }
}
