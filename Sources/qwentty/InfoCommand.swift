import ArgumentParser
import Foundation
import Inference
import ModelFiles
import TerminalUI
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

    func run() throws {
        let path = try modelOption.resolvedPath()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw UserFacingError("\(path): info describes GGUF files; a Hugging Face folder runs with `qwentty run -m \(path)` and `qwentty -m \(path)`")
        }
        let file = try GGUFFile(path: path)
        // Metadata is untrusted text: sanitise everything that came from the file.
        func safe(_ s: String) -> String { TerminalSanitizer.sanitize(s, keepNewlines: false) }
        var lines: [String] = []
        lines.append("file:          \(safe(file.path)) (\(formatBytes(file.fileSize)), GGUF v\(file.version))")
        lines.append("name:          \(safe(file.metadata["general.name"]?.string ?? "-"))")
        if file.tensors.isEmpty {
            lines.append("model:         vocabulary only (no tensors): `tokenize` works, `run` needs a full model file")
        } else { do {
            let c = try ModelConfig(gguf: file)
            lines.append("architecture:  \(c.architecture.rawValue)")
            lines.append("shape:         \(c.layerCount) layers, hidden \(c.hiddenSize), ffn \(c.ffnSize), heads \(c.headCount) (kv \(c.kvHeadCount)), head size \(c.headSize), vocab \(c.vocabularySize)")
            lines.append("context:       \(c.trainedContext) trained, rope base \(c.ropeBase), rms eps \(c.rmsEpsilon)")
            do {
                let weights = try ModelWeights(source: file, config: c)
                lines.append("output head:   \(weights.tiedOutput ? "tied to token_embd" : "separate output.weight")")
            } catch {
                lines.append("weights:       cannot run: \(safe("\(error)"))")
            }
        } catch {
            lines.append("model:         \(safe("\(error)"))")
        } }
        var byType: [GGMLType: (count: Int, bytes: Int)] = [:]
        for t in file.tensors { byType[t.type, default: (0, 0)].count += 1; byType[t.type, default: (0, 0)].bytes += t.byteCount }
        let types = byType.sorted { $0.value.bytes > $1.value.bytes }
            .map { "\($0.key.name) ×\($0.value.count) (\(formatBytes($0.value.bytes)))" }
        lines.append("tensors:       \(file.tensors.count)\(types.isEmpty ? "" : ": " + types.joined(separator: ", "))")
        if let code = file.metadata["general.file_type"]?.int {
            lines.append("file type:     \(LlamaFileType.names[code] ?? "unknown (\(code))") (llama.cpp's general.file_type)")
        }
        do {
            let tokenizer = try QwenTokenizer(gguf: file)
            func name(_ id: Int32?) -> String { id.map { "\($0) \(safe(tokenizer.decode([$0])))" } ?? "-" }
            lines.append("tokenizer:     byte-level BPE, \(tokenizer.vocabularySize) tokens, pre '\(safe(file.metadata["tokenizer.ggml.pre"]?.string ?? "-"))'; bos \(name(tokenizer.bosID)), eos \(name(tokenizer.eosID)), eot \(name(tokenizer.eotID))")
            if let template = try? ChatTemplate(tokenizer: tokenizer, templateSource: file.metadata["tokenizer.chat_template"]?.string) {
                let system = template.defaultSystemPrompt.map { "default system prompt \"\($0)\"" } ?? "no default system prompt"
                lines.append("chat template: ChatML\(template.supportsThinking ? " with think blocks" : ""), \(safe(system))")
            } else {
                lines.append("chat template: none (no <|im_start|>/<|im_end|> tokens; use run --raw)")
            }
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
        writeOut(lines.joined(separator: "\n") + "\n")
    }
}
