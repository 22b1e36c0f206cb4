import Foundation
import Inference
import Kernels
import ModelFiles
import Essentials

/// Writes a GGUF file whose tensors are read from another model (a GGUF file, a Hugging Face folder) and
/// stored in new types: what `quantize` and `convert` share. Each row is decoded to Floats and encoded
/// in its new type on the thread pool; the error that costs is measured as it goes.
struct TensorRewriter {
    /// One tensor: where its values come from and the type it is written in.
    struct Tensor {
        let name: String
        let dims: [Int]
        let type: GGMLType
        let source: WeightMatrix
    }

    /// Relative RMS error of what was written, per written type (0 for exact types).
    struct Report {
        var errorByType: [GGMLType: (error: Double, signal: Double, count: Int)] = [:]
    }

    let pool: ThreadPool
    /// Where a failure is reported (the input's path).
    let sourceError: (String, String) -> ModelFileError

    /// Writes `tensors` after `metadata` to `output` (atomically: a `.partial` file renamed at the end).
    /// `written` hears the index of each tensor once it is in the file.
    func write(_ tensors: [Tensor], metadata: [(String, GGUFValue)], to output: String, alignment: Int = 32,
               written: (Int) -> Void = { _ in }) throws -> Report {
        let plan = tensors.map { GGUFWriter.TensorEntry(name: $0.name, dims: $0.dims, type: $0.type) }
        let writer = try GGUFWriter(path: output, metadata: metadata, tensors: plan, alignment: alignment)
        let showProgress = isatty(2) == 1
        var report = Report()
        for (index, tensor) in tensors.enumerated() {
            if showProgress { drawProgress(index, of: tensors.count, name: tensor.name) }
            let (bytes, error, signal) = try rewrite(tensor)
            defer { bytes.deallocate() }
            report.errorByType[tensor.type, default: (0, 0, 0)].error += error
            report.errorByType[tensor.type, default: (0, 0, 0)].signal += signal
            report.errorByType[tensor.type, default: (0, 0, 0)].count += 1
            try writer.writeTensor(UnsafeRawBufferPointer(bytes))
            written(index)
        }
        try writer.finish()
        if showProgress { drawProgress(tensors.count, of: tensors.count, name: "done"); writeErr("\n") }
        return report
    }

    /// The tensor in its new type, with the squared error and squared signal of the values it holds.
    private func rewrite(_ tensor: Tensor) throws -> (UnsafeMutableRawBufferPointer, Double, Double) {
        let rowBytes = tensor.source.cols / tensor.type.blockSize * tensor.type.blockBytes
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, tensor.source.rows * rowBytes), alignment: 64)
        guard let base = out.baseAddress else { return (out, 0, 0) }
        let result = Quantizer.requantize(tensor.source, to: tensor.type, into: base, pool: pool, measure: true)
        if let row = result.badRow {
            out.deallocate()
            throw sourceError("tensor '\(tensor.name)'", "row \(row) holds NaN or infinity, which \(tensor.type.name) cannot store; the file is damaged (or write F16)")
        }
        return (out, result.squaredError, result.squaredSignal)
    }

    /// "wrote OUT: N tensors, A → B" and the error per type, on stderr.
    static func describe(_ report: Report, output: String, tensorCount: Int, inputBytes: Int) {
        let size = ((try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int) ?? 0
        writeErr("wrote \(output): \(tensorCount) tensors, \(formatBytes(inputBytes)) → \(formatBytes(size))\n")
        for (type, e) in report.errorByType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let relative = e.signal > 0 ? (e.error / e.signal).squareRoot() : 0
            writeErr("  \(type.name): \(e.count) tensors, relative RMSE " + String(format: "%.4f", relative) + "\n")
        }
    }

    private func drawProgress(_ done: Int, of total: Int, name: String) {
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let label = TerminalSanitizer.sanitize(name, keepNewlines: false).prefix(40)
        writeErr("\r\u{1B}[2K[\(bar)] \(done * 100 / max(1, total))% \(done)/\(total) \(label)")
    }
}
