import ModelFiles

/// Hyper-parameters of a Qwen model, read from the GGUF keys `{arch}.*` that llama.cpp's converter writes.
public struct ModelConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable {
        /// Qwen1.5, Qwen2, Qwen2.5: q/k/v projections carry biases.
        case qwen2
        /// Qwen3: no biases; per-head RMSNorm on q and k; head size given explicitly.
        case qwen3
    }

    public var architecture: Architecture
    public var name: String
    public var layerCount: Int        // L
    public var hiddenSize: Int        // D
    public var ffnSize: Int           // F
    public var headCount: Int         // H
    public var kvHeadCount: Int       // Hkv
    public var headSize: Int          // Dh
    public var vocabularySize: Int    // V
    public var trainedContext: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float

    public init(gguf: GGUFFile) throws {
        let archName = try gguf.string("general.architecture")
        guard let arch = Architecture(rawValue: archName) else {
            throw gguf.error("general.architecture", "'\(archName)' is not supported (qwentty runs 'qwen2' and 'qwen3': Qwen1.5, Qwen2, Qwen2.5, Qwen3)")
        }
        architecture = arch
        name = gguf.metadata["general.name"]?.string ?? "unnamed"
        let p = archName + "."
        func positive(_ key: String) throws -> Int {
            let v = try gguf.int(p + key)
            guard v > 0, v <= 1 << 20 else { throw gguf.error(p + key, "value \(v) is out of range") }
            return v
        }
        layerCount = try positive("block_count")
        hiddenSize = try positive("embedding_length")
        ffnSize = try positive("feed_forward_length")
        headCount = try positive("attention.head_count")
        kvHeadCount = gguf.metadata[p + "attention.head_count_kv"] == nil ? headCount : try positive("attention.head_count_kv")
        trainedContext = gguf.metadata[p + "context_length"] == nil ? 32768 : try positive("context_length")
        if gguf.metadata[p + "attention.key_length"] != nil {
            headSize = try positive("attention.key_length")
            if gguf.metadata[p + "attention.value_length"] != nil {
                let valueSize = try positive("attention.value_length")
                guard valueSize == headSize else {
                    throw gguf.error(p + "attention.value_length", "\(valueSize) differs from key_length \(headSize); not supported")
                }
            }
        } else {
            guard hiddenSize % headCount == 0 else {
                throw gguf.error(p + "embedding_length", "\(hiddenSize) is not divisible by head_count \(headCount)")
            }
            headSize = hiddenSize / headCount
        }
        ropeBase = gguf.metadata[p + "rope.freq_base"] == nil ? 10_000 : try gguf.float(p + "rope.freq_base")
        rmsEpsilon = gguf.metadata[p + "attention.layer_norm_rms_epsilon"] == nil ? 1e-6 : try gguf.float(p + "attention.layer_norm_rms_epsilon")
        vocabularySize = 0
        try checkShape { field, problem in
            let key: String
            switch field {
            case .kvHeads: key = "attention.head_count_kv"
            case .headSize: key = "attention.key_length"
            case .ropeBase: key = "rope.freq_base"
            case .rmsEpsilon: key = "attention.layer_norm_rms_epsilon"
            }
            return gguf.error(p + key, problem)
        }
        guard let embedding = gguf.tensor(named: "token_embd.weight"), embedding.dims.count == 2 else {
            throw gguf.error("token_embd.weight", "missing or not a matrix")
        }
        vocabularySize = embedding.dims[1]
    }

    /// What `checkShape` may complain about.
    enum ShapeField { case kvHeads, headSize, ropeBase, rmsEpsilon }

    /// The checks every source shares: what the attention grouping, the RoPE tables and the norms rely
    /// on. `error` names the field as the source spells it (a GGUF key, a config.json key).
    func checkShape(_ error: (ShapeField, String) -> ModelFileError) throws {
        guard headCount % kvHeadCount == 0 else {
            throw error(.kvHeads, "head count \(headCount) is not a multiple of the key/value head count \(kvHeadCount)")
        }
        // Qwen's heads are 64 or 128 wide. The bound keeps the RoPE tables and the per-position cache
        // width of a crafted file (key_length 65536 with embedding_length 1) from asking for gigabytes.
        guard headSize <= Self.maxHeadSize else {
            throw error(.headSize, "head size \(headSize) is larger than \(Self.maxHeadSize); no Qwen model uses more than 256")
        }
        guard headSize % 2 == 0 else { throw error(.headSize, "head size \(headSize) must be even for rotary embeddings") }
        guard ropeBase > 1, ropeBase.isFinite else { throw error(.ropeBase, "\(ropeBase) is not a valid base") }
        guard rmsEpsilon > 0, rmsEpsilon.isFinite else { throw error(.rmsEpsilon, "\(rmsEpsilon) is not positive") }
    }

    /// The widest attention head accepted (twice the widest any Qwen model has used).
    public static let maxHeadSize = 512

    /// Width of all query heads together (H·Dh) and of all key or value heads (Hkv·Dh).
    public var queryWidth: Int { headCount * headSize }
    public var kvWidth: Int { kvHeadCount * headSize }
}

extension ModelConfig {
    /// The `general.*` and `{arch}.*` keys llama.cpp's converter writes for this shape, which `init(gguf:)`
    /// reads back: what a GGUF written by `qwentty convert` says about the model.
    public var ggufMetadata: [(String, GGUFValue)] {
        let p = architecture.rawValue + "."
        var keys: [(String, GGUFValue)] = [
            ("general.architecture", .string(architecture.rawValue)),
            ("general.name", .string(name)),
            (p + "block_count", .uint32(UInt32(layerCount))),
            (p + "context_length", .uint32(UInt32(trainedContext))),
            (p + "embedding_length", .uint32(UInt32(hiddenSize))),
            (p + "feed_forward_length", .uint32(UInt32(ffnSize))),
            (p + "attention.head_count", .uint32(UInt32(headCount))),
            (p + "attention.head_count_kv", .uint32(UInt32(kvHeadCount))),
            (p + "rope.freq_base", .float32(ropeBase)),
            (p + "attention.layer_norm_rms_epsilon", .float32(rmsEpsilon)),
        ]
        // Qwen3 gives its head size apart from hidden / heads (128 with 1024 and 16 heads).
        if architecture == .qwen3 || headSize * headCount != hiddenSize {
            keys += [(p + "attention.key_length", .uint32(UInt32(headSize))), (p + "attention.value_length", .uint32(UInt32(headSize)))]
        }
        return keys
    }
}
