import Foundation
import Inference
import Kernels

import Transformer

/// A model loading on its own thread (`/model FILE`, `/set ctx N`, a chat saved at another context), so
/// the screen keeps drawing and answering keys meanwhile: reading the tokenizer, the memory check and
/// mapping the file take ~0.4 s on the real 0.5B file, and much longer from a slow disk.
///
/// The result is handed over under a lock, and one byte on a pipe wakes the UI's `poll()`, as the
/// engine's events do. A load the user gave up on (Esc) is shut down by the loading thread itself when
/// it finishes, so its engine thread and mapping never outlive it.
final class ModelLoad: @unchecked Sendable {
    struct Request {
        let path: String
        let contextSize: Int
        let threads: Int
        let sampler: SamplerSettings
        let systemPrompt: String?
        let maxReplyTokens: Int
        /// `--quant`, for a Hugging Face folder (nil for a GGUF file, which is never quantised at load).
        let quantizeTo: QuantizationTarget?
        /// The KV cache's precision, as the running model has it (`--kv-cache`).
        let cachePrecision: KVCache.Precision
        /// The context was asked for by the chat (`/set ctx`, a chat saved with one), not by the run: the
        /// chat keeps it and is saved with it.
        let chatContext: Bool
    }

    let request: Request
    /// Readable once the load has finished (either way).
    var wakeDescriptor: Int32 { wakePipe.readDescriptor }
    private let wakePipe: WakePipe
    private let lock = NSLock()
    private var outcome: Result<Engine, Error>?
    private var abandoned = false

    init(_ request: Request) throws {
        self.request = request
        wakePipe = try WakePipe()
        let thread = Thread { [self] in run() }
        thread.name = "qwentty-load"
        thread.start()
    }

    private func run() {
        let result = Result<Engine, Error> {
            let loaded = try LoadedModel(path: request.path, threads: request.threads, contextSize: request.contextSize,
                                         quantizeTo: request.quantizeTo, cachePrecision: request.cachePrecision)
            return try Engine(loaded: loaded, samplerSettings: request.sampler, systemPrompt: request.systemPrompt,
                              maxReplyTokens: request.maxReplyTokens)
        }
        lock.lock()
        let unwanted = abandoned
        outcome = result
        lock.unlock()
        if unwanted, case .success(let engine) = result { engine.shutdown() }
        wakePipe.wake()
    }

    /// The loaded engine or the error, once the load has finished (nil until then).
    func take() -> Result<Engine, Error>? {
        lock.lock()
        defer { lock.unlock() }
        return abandoned ? nil : outcome
    }

    /// Gives the load up: whatever it produces is shut down and dropped.
    func abandon() {
        lock.lock()
        abandoned = true
        let finished = outcome
        lock.unlock()
        if case .success(let engine)? = finished { engine.shutdown() }
    }
}
