import ArgumentParser
import Foundation
import Inference
import ModelFiles
import Essentials
import Tokenizer
import Transformer

/// `qwentty info`: what a model file is, without running it.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model file: architecture, shape, quant types, tokenizer, chat template."
    )

    @OptionGroup var modelOption: ModelOption
    @Flag(help: "Also list every metadata key and tensor.")
    var verbose = false

    /// Metadata is untrusted text: everything that came from the file is sanitised.
    private func safe(_ s: String) -> String { TerminalSanitizer.sanitize(s, keepNewlines: false) }

    func run() throws {
        let path = try modelOption.resolvedPath()
        var isDirectory: ObjCBool = false
        let isFolder = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        writeOut((try isFolder ? folderLines(path) : fileLines(path)).joined(separator: "\n") + "\n")
    }

    /// A GGUF file: its header, metadata and tensor directory.
    private func fileLines(_ path: String) throws -> [String] {
        let file = try GGUFFile(path: path)
        var lines: [String] = []
        lines.append("file:          \(safe(file.path)) (\(formatBytes(file.fileSize)), GGUF v\(file.version))")
        lines.append("name:          \(safe(file.metadata["general.name"]?.string ?? "-"))")
        if file.tensors.isEmpty {
            lines.append("model:         vocabulary only (no tensors): `tokenize` works, `run` needs a full model file")
        } else {
            do {
                let config = try ModelConfig(gguf: file)
                lines += shapeLines(config)
                do {
                    let weights = try ModelWeights(source: file, config: config)
                    lines.append("output head:   \(weights.tiedOutput ? "tied to token_embd" : "separate output.weight")")
                } catch {
                    lines.append("weights:       cannot run: \(safe("\(error)"))")
                }
            } catch {
                lines.append("model:         \(safe("\(error)"))")
            }
        }
        lines.append(tensorLine(file.tensors.map { ($0.type, $0.byteCount) }))
        if let code = file.metadata["general.file_type"]?.int {
            lines.append("file type:     \(LlamaFileType.names[code] ?? "unknown (\(code))") (llama.cpp's general.file_type)")
        }
        do {
            let tokenizer = try QwenTokenizer(gguf: file)
            lines += tokenizerLines(tokenizer, pre: file.metadata["tokenizer.ggml.pre"]?.string ?? "-",
                                    template: file.metadata["tokenizer.chat_template"]?.string)
        } catch {
            lines.append("tokenizer:     \(safe("\(error)"))")
        }
        if verbose {
            lines.append("metadata:")
            for key in file.metadataKeys {
                lines.append("  \(safe(key)) = \(safe(file.metadata[key]?.summary ?? ""))")
            }
            lines.append("tensor directory:")
            for t in file.tensors {
                lines.append("  \(safe(t.name)) \(t.type.name) \(t.dims) @\(t.fileOffset)")
            }
        }
        return lines
    }

    /// A Hugging Face folder: config.json, the safetensors files, the tokenizer files and
    /// generation_config.json, checked as a run checks them but without loading the weights.
    private func folderLines(_ path: String) throws -> [String] {
        let (weights, config) = try HuggingFaceWeights.open(directory: path)
        let files = weights.folder.files
        let bytes = files.reduce(0) { $0 + $1.fileSize }
        var lines = ["folder:        \(safe(path)) (\(files.count) safetensors file\(files.count == 1 ? "" : "s"), \(formatBytes(bytes)); Hugging Face)"]
        lines += shapeLines(config)
        let model = try ModelWeights(source: weights, config: config)
        lines.append("output head:   \(model.tiedOutput ? "tied to the embedding (tie_word_embeddings)" : "separate lm_head.weight")")
        let tensors = weights.folder.tensorNames.compactMap(weights.folder.tensor(named:))
        lines.append(tensorLine(tensors.compactMap { t in t.dtype.ggmlType.map { ($0, t.byteCount) } }))
        let settings = try TokenizerSettings(directory: path)
        let tokenizer = try QwenTokenizer(huggingFaceJSON: path + "/tokenizer.json", eosToken: settings.eosToken)
        lines += tokenizerLines(tokenizer, pre: "qwen2", template: settings.chatTemplate)
        if let generation = try GenerationConfig.load(directory: path) {
            let sampling = try generation.samplerSettings(base: SamplerSettings(), path: path + "/generation_config.json")
            lines.append("sampling:      temp \(sampling.temperature), top_k \(sampling.topK), top_p \(sampling.topP), min_p \(sampling.minP), repeat_penalty \(sampling.repetitionPenalty) (generation_config.json; options win)"
                         + (generation.eos_token_id.isEmpty ? "" : "; stops at \(generation.eos_token_id.map(String.init).joined(separator: ", "))"))
        } else {
            lines.append("sampling:      qwentty's defaults (no generation_config.json)")
        }
        if verbose {
            lines.append("tensor directory:")
            for t in tensors { lines.append("  \(safe(t.name)) \(t.dtype.rawValue) \(t.shape)") }
        }
        return lines
    }

    private func shapeLines(_ c: ModelConfig) -> [String] {
        ["architecture:  \(c.architecture.rawValue)",
         "shape:         \(c.layerCount) layers, hidden \(c.hiddenSize), ffn \(c.ffnSize), heads \(c.headCount) (kv \(c.kvHeadCount)), head size \(c.headSize), vocab \(c.vocabularySize)",
         "context:       \(c.trainedContext) trained, rope base \(c.ropeBase), rms eps \(c.rmsEpsilon)"]
    }

    /// "tensors: N: TYPE ×count (bytes), …", largest first.
    private func tensorLine(_ tensors: [(type: GGMLType, bytes: Int)]) -> String {
        var byType: [GGMLType: (count: Int, bytes: Int)] = [:]
        for t in tensors { byType[t.type, default: (0, 0)].count += 1; byType[t.type, default: (0, 0)].bytes += t.bytes }
        let types = byType.sorted { $0.value.bytes > $1.value.bytes }.map { "\($0.key.name) ×\($0.value.count) (\(formatBytes($0.value.bytes)))" }
        return "tensors:       \(tensors.count)\(types.isEmpty ? "" : ": " + types.joined(separator: ", "))"
    }

    private func tokenizerLines(_ tokenizer: QwenTokenizer, pre: String, template source: String?) -> [String] {
        func name(_ id: Int32?) -> String { id.map { "\($0) \(safe(tokenizer.decode([$0])))" } ?? "-" }
        var lines = ["tokenizer:     byte-level BPE, \(tokenizer.vocabularySize) tokens, pre '\(safe(pre))'; bos \(name(tokenizer.bosID)), eos \(name(tokenizer.eosID)), eot \(name(tokenizer.eotID))"]
        guard let template = try? ChatTemplate(tokenizer: tokenizer, templateSource: source) else {
            return lines + ["chat template: none (no <|im_start|>/<|im_end|> tokens; use run --raw)"]
        }
        let system = template.defaultSystemPrompt.map { "default system prompt \"\($0)\"" } ?? "no default system prompt"
        lines.append("chat template: ChatML\(template.supportsThinking ? " with think blocks" : ""), \(safe(system))")
        if let warning = template.warning { lines.append("               warning: \(warning)") }
        return lines
    }
}
