import Foundation
import ModelFiles

/// What `--type` asks of `quantize` and `convert`: one type for every weight matrix (as
/// `llama-quantize --pure` writes), or llama.cpp's Q4_K_M mix, which gives each tensor the type llama.cpp
/// would (`llama_tensor_get_type`). Vectors (norms, biases) stay F32 either way, as in every llama.cpp file.
public enum QuantizationTarget: Equatable, Sendable {
    case every(GGMLType)
    case q4_K_M

    /// Every name `--type` takes.
    public static let names = Quantizer.writableTypes.map(\.name) + ["Q4_K_M"]

    public init?(name: String) {
        if name.caseInsensitiveCompare("Q4_K_M") == .orderedSame {
            self = .q4_K_M
        } else if let type = Quantizer.writableTypes.first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) {
            self = .every(type)
        } else {
            return nil
        }
    }

    public var name: String {
        switch self {
        case .every(let type): return type.name
        case .q4_K_M: return "Q4_K_M"
        }
    }

    /// llama.cpp's `general.file_type` for the result.
    public var fileType: UInt32 {
        switch self {
        case .every(let type): return LlamaFileType.value(allMatricesOf: type)
        case .q4_K_M: return 15
        }
    }

    /// The type of each tensor, given in the order they are written (llama.cpp counts the `attn_v` and
    /// `ffn_down` matrices as it meets them, so the order is part of the rule). GGUF names and ggml-order
    /// dims (`dims[0]` the row length).
    ///
    /// Q4_K_M: the output head (the token embedding, when it doubles as the head) Q6_K; `attn_v` and
    /// `ffn_down` Q6_K in the layers `usesMoreBits` picks, Q4_K elsewhere; every other matrix Q4_K. A row
    /// that does not fill a K-quant block of 256 takes llama.cpp's fallback (Q4_K → Q5_0, Q6_K → Q8_0):
    /// Qwen2.5-0.5B's 896-wide rows make its q4_k_m file mostly Q5_0 and Q8_0.
    public func types(of tensors: [(name: String, dims: [Int])]) -> [GGMLType] {
        let hasOutput = tensors.contains { $0.name == "output.weight" }
        let valueCount = tensors.filter { $0.name.hasSuffix(".attn_v.weight") }.count
        let downCount = tensors.filter { $0.name.hasSuffix(".ffn_down.weight") }.count
        var value = 0, down = 0
        return tensors.map { tensor in
            guard tensor.dims.count >= 2, let rowLength = tensor.dims.first else { return .f32 }
            switch self {
            case .every(let type):
                return Quantizer.type(for: type, rowLength: rowLength)
            case .q4_K_M:
                var chosen = GGMLType.q4_K
                if tensor.name == "output.weight" || (!hasOutput && tensor.name == "token_embd.weight") {
                    chosen = .q6_K
                } else if tensor.name.hasSuffix(".attn_v.weight") {
                    if Self.usesMoreBits(value, of: valueCount) { chosen = .q6_K }
                    value += 1
                } else if tensor.name.hasSuffix(".ffn_down.weight") {
                    if Self.usesMoreBits(down, of: downCount) { chosen = .q6_K }
                    down += 1
                }
                return Quantizer.type(for: chosen, rowLength: rowLength)
            }
        }
    }

    /// llama.cpp's `use_more_bits`: the first and last eighth of the layers, and every third one between.
    static func usesMoreBits(_ layer: Int, of count: Int) -> Bool {
        layer < count / 8 || layer >= 7 * count / 8 || (layer - count / 8) % 3 == 2
    }
}
