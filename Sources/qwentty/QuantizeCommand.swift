import ArgumentParser
import Foundation
import Inference
import Kernels
import ModelFiles
import TerminalUI

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
    @Option(name: .long, help: "Target type: \(Quantizer.writableTypes.map(\.name).joined(separator: ", ")).")
    var type: String
    @OptionGroup var threadsOption: ThreadsOption

    func run() throws {
        guard let target = Quantizer.writableTypes.first(where: { $0.name.caseInsensitiveCompare(type) == .orderedSame }) else {
            throw UserFacingError("unknown --type '\(type)'; choose one of \(Quantizer.writableTypes.map(\.name).joined(separator: ", "))")
        }
        guard URL(fileURLWithPath: input).standardizedFileURL != URL(fileURLWithPath: output).standardizedFileURL else {
            throw UserFacingError("the output must be a different file from the input")
        }
        let source = try GGUFFile(path: input)
        let pool = ThreadPool(threads: threadsOption.threads ?? ThreadPool.physicalCores)

        // Per tensor: matrices get the target type (or llama.cpp's fallback when rows do not fit its
        // block); vectors (norms, biases) stay F32, as every llama.cpp quantisation keeps them.
        var plan: [GGUFWriter.TensorEntry] = []
        for t in source.tensors {
            guard SupportedWeightType.isSupported(t.type) else {
                throw source.error("tensor '\(t.name)'", "type \(t.type.name) cannot be read for requantisation")
            }
            let chosen = t.dims.count >= 2 ? Quantizer.type(for: target, rowLength: t.rowLength) : GGMLType.f32
            plan.append(GGUFWriter.TensorEntry(name: t.name, dims: t.dims, type: chosen))
        }
        var metadata: [(String, GGUFValue)] = source.metadataKeys.compactMap { key in
            guard key != "general.file_type", key != "general.quantization_version", let value = source.metadata[key] else { return nil }
            return (key, value)
        }
        metadata.append(("general.file_type", .uint32(LlamaFileType.value(allMatricesOf: target))))
        metadata.append(("general.quantization_version", .uint32(2)))
        let writer = try GGUFWriter(path: output, metadata: metadata, tensors: plan, alignment: source.alignment)

        let showProgress = isatty(2) == 1
        var errorByType: [GGMLType: (error: Double, signal: Double)] = [:]
        for (index, (info, entry)) in zip(source.tensors, plan).enumerated() {
            if showProgress { drawProgress(index, of: plan.count, name: info.name) }
            let rows = info.rowCount, cols = info.rowLength
            let rowBytes = cols / entry.type.blockSize * entry.type.blockBytes
            let out = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rowBytes), alignment: 64)
            defer { out.deallocate() }
            let sourceMatrix = WeightMatrix(type: info.type, rows: rows, cols: cols, data: source.data(of: info))
            let written = WeightMatrix(type: entry.type, rows: rows, cols: cols, data: UnsafeRawPointer(out))
            var partials = [(Double, Double)](repeating: (0, 0), count: pool.threadCount)
            // A block scale cannot hold NaN or infinity (the conversion to an integer level traps): such
            // a row is reported, by its first occurrence, instead of written.
            let floatTarget = [.f32, .f16, .bf16].contains(entry.type)
            var badRows = [Int](repeating: -1, count: pool.threadCount)
            partials.withUnsafeMutableBufferPointer { sums in
              badRows.withUnsafeMutableBufferPointer { bad in
                pool.run { thread, threadCount in
                    let start = rows * thread / threadCount, end = rows * (thread + 1) / threadCount
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * cols) { buffer in
                        guard let x = buffer.baseAddress else { return }
                        var error = 0.0, signal = 0.0
                        for r in start ..< end {
                            sourceMatrix.dequantize(row: r, into: x)
                            if !floatTarget, (0 ..< cols).contains(where: { !x[$0].isFinite }) {
                                bad[thread] = r
                                break
                            }
                            Quantizer.quantizeRow(entry.type, x, out + r * rowBytes, count: cols)
                            written.dequantize(row: r, into: x + cols)
                            for c in 0 ..< cols {
                                let e = Double(x[c] - x[cols + c])
                                error += e * e
                                signal += Double(x[c]) * Double(x[c])
                            }
                        }
                        sums[thread] = (error, signal)
                    }
                }
              }
            }
            if let row = badRows.filter({ $0 >= 0 }).min() {
                throw source.error("tensor '\(info.name)'", "row \(row) holds NaN or infinity, which \(entry.type.name) cannot store; the file is damaged (or quantise to F16)")
            }
            let (error, signal) = partials.reduce((0.0, 0.0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            errorByType[entry.type, default: (0, 0)].error += error
            errorByType[entry.type, default: (0, 0)].signal += signal
            try writer.writeTensor(UnsafeRawBufferPointer(start: out, count: rows * rowBytes))
        }
        try writer.finish()
        if showProgress { drawProgress(plan.count, of: plan.count, name: "done") ; writeErr("\n") }
        let size = ((try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int) ?? 0
        writeErr("wrote \(output): \(plan.count) tensors, \(formatBytes(source.fileSize)) → \(formatBytes(size))\n")
        for (t, e) in errorByType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let relative = e.signal > 0 ? (e.error / e.signal).squareRoot() : 0
            let count = plan.filter { $0.type == t }.count
            writeErr("  \(t.name): \(count) tensors, relative RMSE " + String(format: "%.4f", relative) + "\n")
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
