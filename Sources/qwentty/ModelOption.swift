import ArgumentParser
import Foundation
import Kernels
import Essentials
import Transformer

/// `-m FILE|DIR`, shared by every command that reads a model. Without it, the first `.gguf` in `./models`
/// (the bundled demo model in a checkout) is used.
struct ModelOption: ParsableArguments {
    @Option(name: [.customShort("m"), .long], help: "Model: a GGUF file, or a Hugging Face folder (config.json, safetensors, tokenizer.json). Default: the first .gguf in ./models (a model you put there before the bundled demo), else the installed demo model.")
    var model: String?
    @Option(name: .customLong("quant"), help: "Quantise a Hugging Face folder's weight matrices at load: \(QuantizationTarget.names.joined(separator: ", ")) (Q8_0 runs BF16 folders ~2x faster; Q4_K_M is llama.cpp's mix, as convert writes it).")
    var quant: String?
    @Option(name: .customLong("kv-cache"), help: "How the KV cache stores keys and values: f16 (default: half the memory and the long-context reads) or f32.")
    var kvCache: String?

    /// `--kv-cache` as a precision.
    func cachePrecision() throws -> KVCache.Precision {
        guard let kvCache else { return .f16 }
        guard let precision = KVCache.Precision(rawValue: kvCache.lowercased()) else {
            throw UserFacingError("unknown --kv-cache '\(kvCache)'; choose f16 or f32")
        }
        return precision
    }

    /// What `--quant` shows while it works (on a terminal; a log gets nothing): the share of matrices done.
    func quantizationProgress() -> (Double) -> Void {
        guard let quant, isatty(STDERR_FILENO) == 1 else { return { _ in } }
        var shown = -1
        return { fraction in
            let percent = Int(fraction * 100)
            guard percent != shown else { return }
            shown = percent
            writeErr("\r\u{1B}[2Kquantising the weights to \(quant.uppercased()): \(percent)%" + (percent == 100 ? "\n" : ""))
        }
    }

    /// `--quant` as a target (nil when not given).
    func quantization() throws -> QuantizationTarget? {
        guard let quant else { return nil }
        return try QuantizationTarget.named(quant, option: "--quant")
    }

    func resolvedPath() throws -> String {
        if let model { return model }
        // ./models, else the models shipped with the binary (installed, or in its checkout).
        for folder in ["models"] + ShippedFiles.directories("models") {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
            // A model the user put there wins over the bundled demo.
            if let name = names.first(where: { !$0.hasPrefix("qwentty-demo") }) ?? names.first {
                return ((folder + "/" + name) as NSString).standardizingPath
            }
        }
        throw UserFacingError("no model given and none found in ./models: pass -m FILE.gguf (see README: Getting a real model)")
    }
}

extension QuantizationTarget {
    /// The target `name` names, or the one-line error that lists the names (`option`: the flag that gave
    /// it): `--quant`, and `--type` of `quantize` and `convert`.
    static func named(_ name: String, option: String) throws -> QuantizationTarget {
        guard let target = QuantizationTarget(name: name) else {
            throw UserFacingError("unknown \(option) '\(name)'; choose one of \(names.joined(separator: ", "))")
        }
        return target
    }
}

/// `-t THREADS`, shared by every command that runs the model.
struct ThreadsOption: ParsableArguments {
    @Option(name: [.customShort("t"), .long], help: "Threads (default: physical cores).")
    var threads: Int?

    func validate() throws {
        guard (threads ?? 1) >= 1, (threads ?? 1) <= 256 else { throw ValidationError("-t must be between 1 and 256") }
    }
}

/// Writes to stdout without buffering surprises (streamed tokens must appear as they are generated).
func writeOut(_ s: String) {
    writeAll(STDOUT_FILENO, s)
}

func writeErr(_ s: String) {
    writeAll(STDERR_FILENO, s)
}

/// Writes every byte with write(2). Foundation's `FileHandle.write` traps on a failed write; here a reader
/// that went away (EPIPE, `qwentty … | head` with SIGPIPE ignored) ends the program quietly, and any other
/// failure (a full disk: ENOSPC) is one line on stderr and exit status 1.
private func writeAll(_ descriptor: Int32, _ s: String) {
    var bytes = Array(s.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written > 0 {
            bytes = bytes.dropFirst(written)
            continue
        }
        let error = errno
        if written < 0, error == EINTR { continue }
        if error == EPIPE { exit(0) }
        if descriptor != STDERR_FILENO {
            writeAll(STDERR_FILENO, "Error: cannot write to standard output: \(String(cString: strerror(error)))\n")
        }
        exit(1)
    }
}
