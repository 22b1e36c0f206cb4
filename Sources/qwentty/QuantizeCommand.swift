import ArgumentParser
import Foundation
import Inference
import Kernels
import ModelFiles

/// `qwentty quantize`: rewrites a GGUF model with its weight matrices in another type (llama-quantize's job).
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a copy of a GGUF model with its weight matrices quantised to another type."
    )

    @Argument(help: "Input GGUF file.")
    var input: String
    @Argument(help: "Output GGUF file (written atomically).")
    var output: String
    @Option(name: .long, help: "Target type: \(QuantizationTarget.names.joined(separator: ", ")) (Q4_K_M: llama.cpp's mix of types per tensor; the others: every matrix in that type).")
    var type: String
    @OptionGroup var threadsOption: ThreadsOption

    func run() throws {
        let target = try QuantizationTarget.named(type, option: "--type")
        guard URL(fileURLWithPath: input).standardizedFileURL != URL(fileURLWithPath: output).standardizedFileURL else {
            throw UserFacingError("the output must be a different file from the input")
        }
        let source = try GGUFFile(path: input)
        let pool = ThreadPool(threads: threadsOption.threads ?? ThreadPool.physicalCores)
        for t in source.tensors where !SupportedWeightType.isSupported(t.type) {
            throw source.error("tensor '\(t.name)'", "type \(t.type.name) cannot be read for requantisation")
        }
        let types = target.types(of: source.tensors.map { ($0.name, $0.dims) })
        let tensors = zip(source.tensors, types).map { info, type in
            TensorRewriter.Tensor(name: info.name, dims: info.dims, type: type, source: WeightMatrix(
                type: info.type, rows: info.rowCount, cols: info.rowLength, data: source.data(of: info)))
        }
        var metadata: [(String, GGUFValue)] = source.metadataKeys.compactMap { key in
            guard key != "general.file_type", key != "general.quantization_version", let value = source.metadata[key] else { return nil }
            return (key, value)
        }
        metadata.append(("general.file_type", .uint32(target.fileType)))
        metadata.append(("general.quantization_version", .uint32(2)))
        let rewriter = TensorRewriter(pool: pool, sourceError: source.error)
        let report = try rewriter.write(tensors, metadata: metadata, to: output, alignment: source.alignment)
        TensorRewriter.describe(report, output: output, tensorCount: tensors.count, inputBytes: source.fileSize)
    }
}
