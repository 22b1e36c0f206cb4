import ArgumentParser
import Foundation
import Inference
import Kernels
import ModelFiles

/// `qwentty convert`: a Hugging Face folder as one GGUF file (llama.cpp's `convert_hf_to_gguf.py`, and
/// `llama-quantize` for the quantised types), which llama.cpp and qwentty both run.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write a Hugging Face model folder (config.json, safetensors, tokenizer.json) as one GGUF file."
    )

    @Argument(help: "Hugging Face model folder.")
    var input: String
    @Argument(help: "Output GGUF file (written atomically).")
    var output: String
    @Option(name: .long, help: "Weight type: \(QuantizationTarget.names.joined(separator: ", ")) (Q4_K_M: llama.cpp's mix of types per tensor, as Qwen's q4_k_m files; the others: every matrix in that type).")
    var type = "F16"
    @OptionGroup var threadsOption: ThreadsOption

    func run() throws {
        let target = try QuantizationTarget.named(type, option: "--type")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UserFacingError("\(input): convert reads a Hugging Face model folder; `qwentty quantize IN.gguf OUT.gguf --type T` rewrites a GGUF file")
        }
        let outputURL = URL(fileURLWithPath: output).standardizedFileURL
        guard !outputURL.path.hasPrefix(URL(fileURLWithPath: input).standardizedFileURL.path + "/") else {
            throw UserFacingError("write the GGUF file outside the folder it is made from")
        }
        let folder = try FolderConversion(directory: input)
        let types = target.types(of: folder.tensors.map { ($0.name, $0.dims) })
        let tensors = zip(folder.tensors, types).map { TensorRewriter.Tensor(name: $0.name, dims: $0.dims, type: $1, source: $0.values) }
        var metadata = folder.metadata
        metadata.append(("general.file_type", .uint32(target.fileType)))
        if types.contains(where: { ![.f32, .f16, .bf16].contains($0) }) { metadata.append(("general.quantization_version", .uint32(2))) }
        let pool = ThreadPool(threads: threadsOption.threads ?? ThreadPool.physicalCores)
        let rewriter = TensorRewriter(pool: pool) { field, problem in ModelFileError(path: input, field: field, problem: problem) }
        let report = try rewriter.write(tensors, metadata: metadata, to: output, written: folder.releasePages(ofTensorAt:))
        TensorRewriter.describe(report, output: output, tensorCount: tensors.count, inputBytes: folder.byteCount)
    }
}
