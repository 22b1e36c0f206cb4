import Foundation
import Kernels
import ModelFiles
import Tokenizer
import Transformer

/// A Hugging Face model folder as the parts of a GGUF file that llama.cpp's `convert_hf_to_gguf.py`
/// would write: the `{arch}.*` shape keys, the tokenizer arrays (`tokenizer.ggml.*`, padded to the
/// embedding's rows with `[PADn]` tokens as that script pads them), the chat template, and every tensor
/// under its GGUF name with the values as stored. `qwentty convert` writes them in the types it is asked
/// for.
public struct FolderConversion {
    /// One tensor: its GGUF name, ggml-order dims, and its values (F32, F16 or BF16 as the folder holds
    /// them; vectors as F32).
    public struct Tensor {
        public let name: String
        public let dims: [Int]
        public let values: WeightMatrix
    }

    public let config: ModelConfig
    /// Everything but `general.file_type` and `general.quantization_version`, which depend on the types
    /// written.
    public let metadata: [(String, GGUFValue)]
    /// In the order `convert_hf_to_gguf.py` writes them (`HuggingFaceWeights.convertOrder`).
    public let tensors: [Tensor]
    /// Bytes of the folder's weights.
    public let byteCount: Int
    /// Owns the memory the tensors' values point into.
    private let weights: HuggingFaceWeights

    /// Gives the file pages of tensor `index` back once it is written: the folder's BF16 weights need not
    /// all stay resident while the file is written.
    public func releasePages(ofTensorAt index: Int) {
        weights.releasePages(named: tensors[index].name)
    }

    public init(directory: String) throws {
        let (weights, config) = try HuggingFaceWeights.open(directory: directory)
        self.weights = weights
        self.config = config
        byteCount = weights.folder.files.reduce(0) { $0 + $1.fileSize }
        let settings = try TokenizerSettings(directory: directory)
        let tokenizerPath = directory + "/tokenizer.json"
        guard FileManager.default.fileExists(atPath: tokenizerPath) else {
            throw ModelFileError(path: directory, field: "tokenizer.json", problem: "missing: the folder needs the model's tokenizer")
        }
        let vocabulary = try HuggingFaceVocabulary(path: tokenizerPath)
        // The tokenizer is checked as a run would check it (merges, added tokens) before it is written.
        _ = try QwenTokenizer(huggingFaceJSON: tokenizerPath, eosToken: settings.eosToken)

        var tensors: [Tensor] = []
        for (engine, _) in weights.convertOrder {
            guard let view = weights.tensorView(named: engine), let rowLength = view.dims.first else { continue }
            let rows = view.dims.dropFirst().reduce(1, *)
            tensors.append(Tensor(name: engine, dims: view.dims,
                                  values: WeightMatrix(type: view.type, rows: rows, cols: rowLength, data: view.data)))
        }
        guard let embedding = tensors.first(where: { $0.name == "token_embd.weight" }), embedding.dims.count == 2 else {
            throw ModelFileError(path: directory, field: "tensor 'model.embed_tokens.weight'", problem: "missing or not a matrix")
        }
        self.tensors = tensors

        let rows = embedding.dims[1]
        guard vocabulary.tokens.count <= rows else {
            throw ModelFileError(path: tokenizerPath, field: "model.vocab",
                                 problem: "has \(vocabulary.tokens.count) tokens but the embedding has \(rows) rows")
        }
        let padding = vocabulary.tokens.count ..< rows
        let tokens = vocabulary.tokens + padding.map { "[PAD\($0)]" }
        let types = vocabulary.types + padding.map { _ in QwenTokenizer.TokenType.unused.rawValue }
        var metadata = config.ggufMetadata
        metadata += [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("qwen2")),
            ("tokenizer.ggml.tokens", .array(tokens.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(types.map { .int32(Int32($0)) })),
            ("tokenizer.ggml.merges", .array(vocabulary.merges.map { .string($0) })),
        ]
        // Qwen's files: bos and padding are <|endoftext|>, eos what tokenizer_config.json names; no bos
        // is added to a prompt.
        if let id = vocabulary.tokens.firstIndex(of: "<|endoftext|>") {
            metadata += [("tokenizer.ggml.bos_token_id", .uint32(UInt32(id))), ("tokenizer.ggml.padding_token_id", .uint32(UInt32(id)))]
        }
        if let eos = settings.eosToken, let id = vocabulary.tokens.firstIndex(of: eos) {
            metadata.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(id))))
        }
        metadata.append(("tokenizer.ggml.add_bos_token", .bool(false)))
        if let template = settings.chatTemplate { metadata.append(("tokenizer.chat_template", .string(template))) }
        self.metadata = metadata
    }
}
