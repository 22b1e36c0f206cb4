import Essentials
import Foundation
import Kernels
import ModelFiles
import Tokenizer
import Transformer

/// Where a loaded model comes from: one GGUF file, or a Hugging Face model folder (`config.json`,
/// safetensors weights, `tokenizer.json`, and `tokenizer_config.json` for the chat template and the
/// end-of-sequence token). Everything above the loader asks this, not the format.
public enum ModelSource {
    case gguf(GGUFFile)
    case huggingFace(HuggingFaceWeights, chatTemplate: String?)

    /// The file or folder given.
    public var path: String {
        switch self {
        case .gguf(let file): return file.path
        case .huggingFace(let weights, _): return weights.path
        }
    }

    /// The weights as the engine names them.
    public var tensorSource: TensorSource {
        switch self {
        case .gguf(let file): return file
        case .huggingFace(let weights, _): return weights
        }
    }

    /// Bytes on disk: the GGUF file, or the folder's safetensors files.
    public var byteCount: Int {
        switch self {
        case .gguf(let file): return file.fileSize
        case .huggingFace(let weights, _): return weights.folder.files.reduce(0) { $0 + $1.fileSize }
        }
    }

    /// Every tensor's type and size, and whether it is a matrix (what the weight-type summaries count).
    public var tensorTypes: [(type: GGMLType, bytes: Int, matrix: Bool)] {
        switch self {
        case .gguf(let file):
            return file.tensors.map { ($0.type, $0.byteCount, $0.dims.count >= 2) }
        case .huggingFace(let weights, _):
            // As the engine sees them: after `--quant`, matrices in their new type.
            return HuggingFaceWeights.engineNames(for: weights.folder.tensorNames).compactMap { names in
                weights.tensorView(named: names.engine).map { view in
                    (view.type, view.dims.reduce(1, *) / view.type.blockSize * view.type.blockBytes, view.dims.count >= 2)
                }
            }
        }
    }

    /// What identifies the weights without reading them: every file's size and header (metadata, tensor
    /// table), the config a folder's shape comes from, and each tensor's type as the engine holds it (a
    /// folder quantised at load is another model). A saved context cache is used only with the model it
    /// was computed from.
    public var fingerprint: UInt64 {
        var hash = Fingerprint()
        switch self {
        case .gguf(let file):
            hash.combine(file.fileSize)
            hash.combine(file.headerBytes)
        case .huggingFace(let weights, _):
            for file in weights.folder.files {
                hash.combine(file.fileSize)
                hash.combine(file.headerBytes)
            }
            if let config = FileManager.default.contents(atPath: weights.path + "/config.json") { hash.combine([UInt8](config)) }
        }
        for tensor in tensorTypes {
            hash.combine(tensor.type.rawValue)
            hash.combine(tensor.bytes)
        }
        return hash.value
    }

    /// llama.cpp's name for the file's type (`general.file_type`, "Q4_K_M"), when the file says.
    public var fileTypeName: String? {
        guard case .gguf(let file) = self, let code = file.metadata["general.file_type"]?.int else { return nil }
        return LlamaFileType.names[code]
    }

    /// The chat template's Jinja source, if the model ships one.
    public var chatTemplateSource: String? {
        switch self {
        case .gguf(let file): return file.metadata["tokenizer.chat_template"]?.string
        case .huggingFace(_, let template): return template
        }
    }

    /// Reads one byte of every page of the weights (see `MappedFile.touchAllPages`), reporting the
    /// fraction of all bytes done.
    public func touchAllPages(progress: (Double) -> Void) {
        switch self {
        case .gguf(let file):
            file.touchAllPages(progress: progress)
        case .huggingFace(let weights, _) where weights.isQuantized:
            progress(1)  // the matrices are copies in memory; the files' pages were given back on purpose
        case .huggingFace(let weights, _):
            let total = Double(max(1, byteCount))
            var done = 0.0
            for file in weights.folder.files {
                file.touchAllPages { progress((done + $0 * Double(file.fileSize)) / total) }
                done += Double(file.fileSize)
            }
        }
    }

    /// Opens `path`: a folder is read as a Hugging Face model, anything else as a GGUF file. With
    /// `quantizeTo`, a folder's matrices are quantised at load (`HuggingFaceWeights.quantize`); a GGUF file
    /// is refused, since `qwentty quantize` writes a quantised copy once instead of at every start.
    static func open(path: String, quantizeTo: QuantizationTarget?, pool: ThreadPool, progress: (Double) -> Void) throws
        -> (source: ModelSource, config: ModelConfig, tokenizer: QwenTokenizer, generation: GenerationConfig?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            if let quantizeTo {
                throw ModelFileError(path: path, field: "--quant", problem: "quantising at load is for Hugging Face folders; `qwentty quantize \(path) OUT.gguf --type \(quantizeTo.name)` writes a quantised copy of a GGUF file")
            }
            let file = try GGUFFile(path: path)
            return (.gguf(file), try ModelConfig(gguf: file), try QwenTokenizer(gguf: file), nil)
        }
        let (weights, config) = try HuggingFaceWeights.open(directory: path)
        let settings = try TokenizerSettings(directory: path)
        let generation = try GenerationConfig.load(directory: path)
        let tokenizerPath = path + "/tokenizer.json"
        guard FileManager.default.fileExists(atPath: tokenizerPath) else {
            throw ModelFileError(path: path, field: "tokenizer.json", problem: "missing: the folder needs the model's tokenizer")
        }
        let tokenizer = try QwenTokenizer(huggingFaceJSON: tokenizerPath, eosToken: settings.eosToken)
        if let quantizeTo { try weights.quantize(to: quantizeTo, pool: pool, progress: progress) }
        return (.huggingFace(weights, chatTemplate: settings.chatTemplate), config, tokenizer, generation)
    }
}

/// What a model folder's `tokenizer_config.json` (and `chat_template.jinja`, where newer `transformers`
/// put the template) say that the tokenizer itself does not: the chat template and the end token.
public struct TokenizerSettings {
    public var chatTemplate: String?
    public var eosToken: String?

    static let maxBytes = 16 << 20

    public init(directory: String) throws {
        let configPath = directory + "/tokenizer_config.json"
        if FileManager.default.fileExists(atPath: configPath) {
            let mapping = try MappedFile(path: configPath)
            guard mapping.bytes.count <= Self.maxBytes else {
                throw ModelFileError(path: configPath, field: "file", problem: "is \(mapping.bytes.count) bytes, more than a tokenizer config needs")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(mapping.bytes))) as? [String: Any] else {
                throw ModelFileError(path: configPath, field: "file", problem: "is not a JSON object")
            }
            chatTemplate = object["chat_template"] as? String
            // A string, or {"content": "<|im_end|>", …} in older files.
            eosToken = object["eos_token"] as? String ?? (object["eos_token"] as? [String: Any])?["content"] as? String
        }
        let jinjaPath = directory + "/chat_template.jinja"
        if chatTemplate == nil, FileManager.default.fileExists(atPath: jinjaPath) {
            let mapping = try MappedFile(path: jinjaPath)
            guard mapping.bytes.count <= Self.maxBytes, let text = String(bytes: mapping.bytes, encoding: .utf8) else {
                throw ModelFileError(path: jinjaPath, field: "file", problem: "is not a UTF-8 template of a sensible size")
            }
            chatTemplate = text
        }
    }
}
