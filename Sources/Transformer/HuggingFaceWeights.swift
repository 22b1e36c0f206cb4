import Foundation
import Kernels
import ModelFiles

/// A Hugging Face model folder's safetensors weights, seen under the engine's (llama.cpp's GGUF) tensor
/// names: the one place where the two naming schemes meet.
///
/// Matrices are read in place (F32, F16 and BF16 are all kernel types). Norm weights and biases are
/// often stored in F16 or BF16, while the forward pass reads them as Floats: those (a few KB per layer)
/// are converted once, into memory this object owns.
public final class HuggingFaceWeights: TensorSource {
    public let folder: SafetensorsFolder
    public var path: String { folder.directory }
    private var converted: [String: UnsafeMutablePointer<Float>] = [:]
    /// Matrices quantised at load (`quantize(to:)`), by engine name: their type and owned bytes.
    private var quantized: [String: (type: GGMLType, data: UnsafeMutableRawPointer)] = [:]

    public init(folder: SafetensorsFolder) {
        self.folder = folder
    }

    /// A Hugging Face model folder: `config.json` and the safetensors weights, checked against each other
    /// where the weight table alone cannot tell (an untied model must have its own `lm_head.weight`;
    /// without it the embedding would silently be used as the head).
    public static func open(directory: String) throws -> (weights: HuggingFaceWeights, config: ModelConfig) {
        let configPath = directory + "/config.json"
        let hf = try HuggingFaceConfig.load(path: configPath)
        let name = (directory as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? "model"
        let config = try ModelConfig(huggingFace: hf, name: name, path: configPath)
        let weights = HuggingFaceWeights(folder: try SafetensorsFolder(directory: directory))
        if hf.tie_word_embeddings != true, weights.folder.tensor(named: "lm_head.weight") == nil {
            throw ModelFileError(path: directory, field: "tensor 'lm_head.weight'",
                                 problem: "missing, and config.json does not tie it to the embeddings (tie_word_embeddings)")
        }
        return (weights, config)
    }

    deinit {
        for buffer in converted.values { buffer.deallocate() }
        for matrix in quantized.values { matrix.data.deallocate() }
    }

    /// Rewrites every matrix (2-D tensor) in `target` (llama.cpp's fallback, or F16, where a row does not
    /// fill its blocks), into memory this object owns, rows split over `pool`: a Qwen folder's BF16
    /// weights then decode at the speed of a quantised GGUF. Vectors stay Floats. `progress` hears the
    /// fraction of matrices done. A row holding NaN or infinity cannot be quantised and is refused.
    public func quantize(to target: QuantizationTarget, pool: ThreadPool, progress: (Double) -> Void = { _ in }) throws {
        let names = convertOrder
        let types = target.types(of: names.map { ($0.engine, folder.tensor(named: $0.hf)?.ggmlDims ?? []) })
        let matrices = zip(names, types).filter { (folder.tensor(named: $0.0.hf)?.shape.count ?? 0) >= 2 }
        for (done, (names, chosen)) in matrices.enumerated() {
            guard let tensor = folder.tensor(named: names.hf), let data = folder.data(named: names.hf),
                  let type = tensor.dtype.ggmlType else { continue }
            let cols = tensor.ggmlDims[0], rows = tensor.elementCount / max(1, tensor.ggmlDims[0])
            let rowBytes = cols / chosen.blockSize * chosen.blockBytes
            let out = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rowBytes), alignment: 64)
            let source = WeightMatrix(type: type, rows: rows, cols: cols, data: data)
            if let row = Quantizer.requantize(source, to: chosen, into: out, pool: pool, measure: false).badRow {
                out.deallocate()
                throw error("tensor '\(names.engine)'", "row \(row) holds NaN or infinity, which \(chosen.name) cannot store")
            }
            quantized[names.engine] = (chosen, out)
            // The matrix now lives in the copy: its file pages need not stay resident (a BF16 0.5B
            // folder's would add 1 GB to the run's memory, and to its peak if they were kept to the end).
            folder.releasePages(named: names.hf)
            progress(Double(done + 1) / Double(matrices.count))
        }
    }

    /// Whether `quantize` made copies of the matrices (then the files need not be read ahead).
    public var isQuantized: Bool { !quantized.isEmpty }

    /// The folder's tensors (engine and Hugging Face names) in the order `convert_hf_to_gguf.py` writes
    /// them: by Hugging Face name, as `safe_open().keys()` lists them (`lm_head`, the embedding, layers 0,
    /// 1, 10, 11, …, the final norm). llama.cpp's Q4_K_M mix counts `attn_v` and `ffn_down` in this order,
    /// and Qwen's own q4_k_m file has it; `convert` and `--quant` both follow it.
    public var convertOrder: [(engine: String, hf: String)] {
        Self.engineNames(for: folder.tensorNames).sorted { $0.hf.utf8.lexicographicallyPrecedes($1.hf.utf8) }
    }

    /// Gives the file pages of the engine tensor `name` back to the system (its values were copied out).
    public func releasePages(named name: String) {
        if let hf = Self.huggingFaceName(name) { folder.releasePages(named: hf) }
    }

    /// The engine names of a model's Hugging Face tensor names (the inverse of `huggingFaceName`), for the
    /// names that have one.
    public static func engineNames(for hfNames: [String]) -> [(engine: String, hf: String)] {
        let layers = Set(hfNames.compactMap { name -> Int? in
            let parts = name.split(separator: ".")
            return parts.count > 2 && parts[0] == "model" && parts[1] == "layers" ? Int(parts[2]) : nil
        })
        let perLayer = ["attn_norm.weight", "ffn_norm.weight", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias",
                        "attn_v.weight", "attn_v.bias", "attn_q_norm.weight", "attn_k_norm.weight", "attn_output.weight",
                        "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"]
        let candidates = ["token_embd.weight", "output.weight", "output_norm.weight"] + layers.sorted().flatMap { l in perLayer.map { "blk.\(l).\($0)" } }
        let wanted = Set(hfNames)
        return candidates.compactMap { name in huggingFaceName(name).flatMap { wanted.contains($0) ? (name, $0) : nil } }
    }

    /// The Hugging Face name of an engine tensor name (`blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`),
    /// or nil for a name with no counterpart.
    public static func huggingFaceName(_ name: String) -> String? {
        switch name {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let rest = String(parts[2])
        let suffixes: [(engine: String, hf: String)] = [
            ("attn_norm.weight", "input_layernorm.weight"), ("ffn_norm.weight", "post_attention_layernorm.weight"),
            ("attn_q.weight", "self_attn.q_proj.weight"), ("attn_q.bias", "self_attn.q_proj.bias"),
            ("attn_k.weight", "self_attn.k_proj.weight"), ("attn_k.bias", "self_attn.k_proj.bias"),
            ("attn_v.weight", "self_attn.v_proj.weight"), ("attn_v.bias", "self_attn.v_proj.bias"),
            ("attn_q_norm.weight", "self_attn.q_norm.weight"), ("attn_k_norm.weight", "self_attn.k_norm.weight"),
            ("attn_output.weight", "self_attn.o_proj.weight"),
            ("ffn_gate.weight", "mlp.gate_proj.weight"), ("ffn_up.weight", "mlp.up_proj.weight"), ("ffn_down.weight", "mlp.down_proj.weight"),
        ]
        return suffixes.first { $0.engine == rest }.map { "model.layers.\(layer).\($0.hf)" }
    }

    public func tensorView(named name: String) -> TensorView? {
        if let matrix = quantized[name], let hfName = Self.huggingFaceName(name), let tensor = folder.tensor(named: hfName) {
            return TensorView(type: matrix.type, dims: tensor.ggmlDims, data: UnsafeRawPointer(matrix.data))
        }
        guard let hfName = Self.huggingFaceName(name), let tensor = folder.tensor(named: hfName),
              let data = folder.data(named: hfName), let type = tensor.dtype.ggmlType else { return nil }
        let dims = tensor.ggmlDims
        // 1-D tensors (norms, biases) as Floats, converted once.
        if dims.count == 1, type != .f32 {
            if let done = converted[name] { return TensorView(type: .f32, dims: dims, data: UnsafeRawPointer(done)) }
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: dims[0])
            for i in 0 ..< dims[0] {
                let bits = data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                buffer[i] = type == .f16 ? Float(Float16(bitPattern: bits)) : Float(bitPattern: UInt32(bits) << 16)
            }
            converted[name] = buffer
            return TensorView(type: .f32, dims: dims, data: UnsafeRawPointer(buffer))
        }
        return TensorView(type: type, dims: dims, data: data)
    }

    public func error(_ field: String, _ problem: String) -> ModelFileError {
        let named = field.replacingOccurrences(of: "tensor '", with: "").replacingOccurrences(of: "'", with: "")
        let hf = Self.huggingFaceName(named).map { "tensor '\($0)'" } ?? field
        return ModelFileError(path: path, field: hf, problem: problem)
    }
}
