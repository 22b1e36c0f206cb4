import Kernels
import ModelFiles

/// The weights of one transformer block, as views into the mapped file.
/// Shapes are PyTorch order `[out, in]`; legend as in `ModelConfig`.
public struct LayerWeights {
    public let attentionNorm: UnsafePointer<Float>      // [D]
    public let query: WeightMatrix                      // [H·Dh, D]
    public let key: WeightMatrix                        // [Hkv·Dh, D]
    public let value: WeightMatrix                      // [Hkv·Dh, D]
    public let queryBias: UnsafePointer<Float>?         // [H·Dh]   qwen2 only
    public let keyBias: UnsafePointer<Float>?           // [Hkv·Dh] qwen2 only
    public let valueBias: UnsafePointer<Float>?         // [Hkv·Dh] qwen2 only
    public let queryNorm: UnsafePointer<Float>?         // [Dh]     qwen3 only
    public let keyNorm: UnsafePointer<Float>?           // [Dh]     qwen3 only
    public let output: WeightMatrix                     // [D, H·Dh]
    public let ffnNorm: UnsafePointer<Float>            // [D]
    public let gate: WeightMatrix                       // [F, D]
    public let up: WeightMatrix                         // [F, D]
    public let down: WeightMatrix                       // [D, F]
}

/// All weights of a Qwen model. Nothing is copied: matrices stay quantised in the memory map.
public struct ModelWeights {
    public let tokenEmbedding: WeightMatrix             // [V, D]
    public let layers: [LayerWeights]
    public let outputNorm: UnsafePointer<Float>         // [D]
    /// The output head; the embedding matrix itself when the file ties them (no `output.weight`).
    public let output: WeightMatrix                     // [V, D]
    public let tiedOutput: Bool

    /// The weights named as llama.cpp's GGUF files name them, from `source` (a GGUF file, or a Hugging Face
    /// folder through its name map), checked against the config's shapes.
    public init(source gguf: TensorSource, config c: ModelConfig) throws {
        func tensor(_ name: String, _ shape: [Int]) throws -> TensorView {
            guard let t = gguf.tensorView(named: name) else {
                throw gguf.error("tensor '\(name)'", "missing; the file is not a complete \(c.architecture.rawValue) model")
            }
            // GGUF lists dimensions fastest-first, the reverse of PyTorch order.
            guard t.dims == shape.reversed() else {
                throw gguf.error("tensor '\(name)'", "has shape \(t.dims) but the model config needs \(Array(shape.reversed()))")
            }
            return t
        }
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> WeightMatrix {
            let t = try tensor(name, [rows, cols])
            guard SupportedWeightType.isSupported(t.type) else {
                throw gguf.error("tensor '\(name)'", "type \(t.type.name) is not supported yet (supported: \(SupportedWeightType.all.map(\.name).joined(separator: ", ")))")
            }
            return WeightMatrix(type: t.type, rows: rows, cols: cols, data: t.data)
        }
        func vector(_ name: String, _ count: Int) throws -> UnsafePointer<Float> {
            let t = try tensor(name, [count])
            guard t.type == .f32 else { throw gguf.error("tensor '\(name)'", "type \(t.type.name) must be F32 for a norm or bias") }
            return t.data.assumingMemoryBound(to: Float.self)
        }
        func optionalVector(_ name: String, _ count: Int) throws -> UnsafePointer<Float>? {
            gguf.tensorView(named: name) == nil ? nil : try vector(name, count)
        }

        let d = c.hiddenSize
        tokenEmbedding = try matrix("token_embd.weight", c.vocabularySize, d)
        var layers: [LayerWeights] = []
        for i in 0 ..< c.layerCount {
            let b = "blk.\(i)."
            let qwen3 = c.architecture == .qwen3
            layers.append(LayerWeights(
                attentionNorm: try vector(b + "attn_norm.weight", d),
                query: try matrix(b + "attn_q.weight", c.queryWidth, d),
                key: try matrix(b + "attn_k.weight", c.kvWidth, d),
                value: try matrix(b + "attn_v.weight", c.kvWidth, d),
                queryBias: try optionalVector(b + "attn_q.bias", c.queryWidth),
                keyBias: try optionalVector(b + "attn_k.bias", c.kvWidth),
                valueBias: try optionalVector(b + "attn_v.bias", c.kvWidth),
                queryNorm: qwen3 ? try vector(b + "attn_q_norm.weight", c.headSize) : nil,
                keyNorm: qwen3 ? try vector(b + "attn_k_norm.weight", c.headSize) : nil,
                output: try matrix(b + "attn_output.weight", d, c.queryWidth),
                ffnNorm: try vector(b + "ffn_norm.weight", d),
                gate: try matrix(b + "ffn_gate.weight", c.ffnSize, d),
                up: try matrix(b + "ffn_up.weight", c.ffnSize, d),
                down: try matrix(b + "ffn_down.weight", d, c.ffnSize)))
        }
        self.layers = layers
        outputNorm = try vector("output_norm.weight", d)
        if gguf.tensorView(named: "output.weight") != nil {
            output = try matrix("output.weight", c.vocabularySize, d)
            tiedOutput = false
        } else {
            output = tokenEmbedding
            tiedOutput = true
        }
    }
}
