import Foundation
import Kernels
import ModelFiles

// Legend: D hidden, H query heads, Hkv key/value heads, Dh head size, F feed-forward, V vocabulary,
// L layers, T tokens in the current batch, P position.

/// Why a forward pass was refused; nothing has been written to the cache when this is thrown.
public enum ForwardError: Error, CustomStringConvertible, Equatable {
    case contextFull(needed: Int, contextSize: Int)
    case invalidToken(Int32, vocabularySize: Int)
    /// The caller's `interrupt` asked to stop (more urgent work is waiting); the cache is as it was.
    case interrupted

    public var description: String {
        switch self {
        case .contextFull(let needed, let size):
            return "the context is full: \(needed) tokens needed, context size is \(size); start a new chat or raise --ctx-size"
        case .invalidToken(let id, let vocab):
            return "token id \(id) is outside the vocabulary (0..<\(vocab))"
        case .interrupted:
            return "interrupted"
        }
    }
}

/// A Qwen2/Qwen3 decoder: the model file, its weights and the scratch memory of a forward pass.
///
/// One instance is used by one thread at a time (the engine thread); all buffers are allocated here
/// once, so a decode step allocates nothing.
public final class QwenModel {
    /// Owns the memory the weights point into (a mapped GGUF file, a Hugging Face folder).
    public let source: TensorSource
    public let config: ModelConfig
    public let weights: ModelWeights
    public let pool: ThreadPool
    /// Largest batch one forward call processes; longer prompts are fed in chunks of this size. Each
    /// batch lays out every weight row once (as an Int16 panel or as Floats), so larger batches amortise
    /// that. Measured on Qwen2.5-0.5B Q4_0 pp512 (Int16 panels): 128 → 536–553 tok/s, 256 → 571–590,
    /// 512 → 572–597 for 17 MiB more activations; 256 keeps peak RSS well inside file + KV + 100 MB.
    public let maxBatch: Int
    /// Positions the RoPE tables cover: the largest cache this model can serve.
    public let maxContext: Int
    /// `.quantized` (default) is llama.cpp's fast scheme; `.float` is reference precision for tests.
    public let activationPrecision: ActivationPrecision
    /// How the caches of `makeCache` store keys and values.
    public let cachePrecision: KVCache.Precision

    private let x: UnsafeMutablePointer<Float>          // [T, D] residual stream
    private let xb: UnsafeMutablePointer<Float>         // [T, D] normalised input of a sub-layer
    private let q: UnsafeMutablePointer<Float>          // [T, H·Dh]
    private let k: UnsafeMutablePointer<Float>          // [T, Hkv·Dh]
    private let v: UnsafeMutablePointer<Float>          // [T, Hkv·Dh]
    private let attention: UnsafeMutablePointer<Float>  // [T, H·Dh]
    private let gate: UnsafeMutablePointer<Float>       // [T, F]
    private let up: UnsafeMutablePointer<Float>         // [T, F]
    private let scores: UnsafeMutablePointer<Float>     // [threads, maxHeadsPerCall, scoreStride] attention weights
    /// `maxContext` rounded up to the F16 score kernel's blocks of 16 positions.
    private var scoreStride: Int { (maxContext + 15) / 16 * 16 }
    private let ropeCos: UnsafeMutablePointer<Float>    // [maxContext, Dh/2]
    private let ropeSin: UnsafeMutablePointer<Float>    // [maxContext, Dh/2]
    public let logits: UnsafeMutablePointer<Float>      // [V] of the last token
    private let activationQ8 = ActivationQ8()

    public convenience init(file: GGUFFile, pool: ThreadPool, maxContext: Int? = nil, maxBatch: Int = 256,
                            activationPrecision: ActivationPrecision = .quantized, cachePrecision: KVCache.Precision? = nil) throws {
        try self.init(source: file, config: ModelConfig(gguf: file), pool: pool, maxContext: maxContext, maxBatch: maxBatch,
                      activationPrecision: activationPrecision, cachePrecision: cachePrecision)
    }

    /// A model from any weight source (a GGUF file, a Hugging Face folder) with its config.
    /// `cachePrecision`: how the caches `makeCache` gives store keys and values; by default F16, and F32
    /// at reference precision (`activationPrecision: .float`), which is exact end to end.
    public init(source: TensorSource, config: ModelConfig, pool: ThreadPool, maxContext: Int? = nil, maxBatch: Int = 256,
                activationPrecision: ActivationPrecision = .quantized, cachePrecision: KVCache.Precision? = nil) throws {
        self.activationPrecision = activationPrecision
        self.cachePrecision = cachePrecision ?? (activationPrecision == .float ? .f32 : .f16)
        self.source = source
        self.config = config
        weights = try ModelWeights(source: source, config: config)
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        self.maxContext = max(1, maxContext ?? config.trainedContext)
        let c = config
        let t = self.maxBatch
        x = .allocate(capacity: t * c.hiddenSize)
        xb = .allocate(capacity: t * c.hiddenSize)
        q = .allocate(capacity: t * c.queryWidth)
        k = .allocate(capacity: t * c.kvWidth)
        v = .allocate(capacity: t * c.kvWidth)
        attention = .allocate(capacity: t * c.queryWidth)
        gate = .allocate(capacity: t * c.ffnSize)
        up = .allocate(capacity: t * c.ffnSize)
        scores = .allocate(capacity: pool.threadCount * maxHeadsPerCall * ((self.maxContext + 15) / 16 * 16))
        logits = .allocate(capacity: c.vocabularySize)
        let half = c.headSize / 2
        ropeCos = .allocate(capacity: self.maxContext * half)
        ropeSin = .allocate(capacity: self.maxContext * half)
        // Angles in Double: position · base^(−2i/Dh). Float angles lose ~1e-3 rad at position 30 000.
        for p in 0 ..< self.maxContext {
            for i in 0 ..< half {
                let angle = Double(p) * pow(Double(c.ropeBase), -Double(2 * i) / Double(c.headSize))
                ropeCos[p * half + i] = Float(cos(angle))
                ropeSin[p * half + i] = Float(sin(angle))
            }
        }
    }

    deinit {
        for buffer in [x, xb, q, k, v, attention, gate, up, scores, logits, ropeCos, ropeSin] {
            buffer.deallocate()
        }
    }

    /// Bytes `init` allocates for a forward pass (activations of a `maxBatch` batch, attention scores,
    /// RoPE tables, logits), from the shape alone, so a loader can refuse a file before allocating: the
    /// shape comes from metadata, and a crafted file can ask for terabytes. A Double, so no product of
    /// hostile dimensions can overflow.
    public static func scratchBytes(config c: ModelConfig, maxContext: Int, maxBatch: Int = 256, threads: Int) -> Double {
        let t = Double(max(1, maxBatch))
        let activations = t * Double(2 * c.hiddenSize + 2 * c.queryWidth + 2 * c.kvWidth + 2 * c.ffnSize)
        let tables = Double(threads * maxHeadsPerCall) * Double(maxContext) + Double(maxContext) * Double(c.headSize)
        return 4 * (activations + tables + Double(c.vocabularySize))
    }

    public func makeCache(contextSize: Int? = nil) -> KVCache {
        KVCache(layerCount: config.layerCount, contextSize: min(contextSize ?? maxContext, maxContext), width: config.kvWidth,
                headCount: config.kvHeadCount, precision: cachePrecision)
    }

    /// Runs `tokens` at positions `cache.count ..< cache.count + tokens.count`, appends their keys and
    /// values to `cache`, and leaves the logits of the last token in `logits`.
    ///
    /// `interrupt` is asked four times per layer, between its large matrix products (a quarter of a
    /// layer of a 128-token batch is ~10–20 ms on a 2-core box); when it returns true the pass stops, the
    /// cache is cut back to where it was and `ForwardError.interrupted` is thrown. Background work (a
    /// reply's sentiment) uses it to give way to a user's message at once.
    public func forward(_ tokens: [Int32], cache: KVCache, interrupt: (() -> Bool)? = nil) throws {
        guard !tokens.isEmpty else { return }
        guard cache.count + tokens.count <= cache.contextSize else {
            throw ForwardError.contextFull(needed: cache.count + tokens.count, contextSize: cache.contextSize)
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
            throw ForwardError.invalidToken(bad, vocabularySize: config.vocabularySize)
        }
        let startCount = cache.count
        var start = 0
        while start < tokens.count {
            let end = min(start + maxBatch, tokens.count)
            guard forwardBatch(tokens[start ..< end], cache: cache, computeLogits: end == tokens.count, interrupt: interrupt) else {
                cache.truncate(to: startCount)
                throw ForwardError.interrupted
            }
            start = end
        }
    }

    /// `computeLogits` is false for all but a prompt's last batch: only its last token's logits are
    /// read, and the output head is the largest matrix (151 936 rows), ~5% of a 512-token F16 prefill.
    /// Returns false when `interrupt` stopped it (the cache count is then unchanged).
    private func forwardBatch(_ tokens: ArraySlice<Int32>, cache: KVCache, computeLogits: Bool,
                              interrupt: (() -> Bool)?) -> Bool {
        let c = config
        let d = c.hiddenSize
        let t = tokens.count
        let start = cache.count
        for (i, token) in tokens.enumerated() {
            weights.tokenEmbedding.dequantize(row: Int(token), into: x + i * d)
        }
        for (l, layer) in weights.layers.enumerated() {
            if let interrupt, interrupt() { return false }
            // Attention block.
            normalize(x, layer.attentionNorm, into: xb, tokens: t)
            layer.query.multiply(xb, tokens: t, into: q, scratch: activationQ8, pool: pool, precision: activationPrecision)
            layer.key.multiply(xb, tokens: t, into: k, scratch: activationQ8, pool: pool, precision: activationPrecision, inputUnchanged: true)
            layer.value.multiply(xb, tokens: t, into: v, scratch: activationQ8, pool: pool, precision: activationPrecision, inputUnchanged: true)
            // Per token: biases, q/k norms, RoPE and the cache write, split over the pool for a prompt
            // (serial, this was a few percent of a 512-token prefill on one of two cores).
            let (q, k, v) = (self.q, self.k, self.v)
            pool.parallelFor(t) { first, end in
            for i in first ..< end {
                if let bias = layer.queryBias { axpy(1, bias, q + i * c.queryWidth, count: c.queryWidth) }
                if let bias = layer.keyBias { axpy(1, bias, k + i * c.kvWidth, count: c.kvWidth) }
                if let bias = layer.valueBias { axpy(1, bias, v + i * c.kvWidth, count: c.kvWidth) }
                let position = start + i
                for h in 0 ..< c.headCount {
                    let head = q + i * c.queryWidth + h * c.headSize
                    if let norm = layer.queryNorm { rmsNorm(head, norm, head, count: c.headSize, epsilon: c.rmsEpsilon) }
                    rotate(head, position: position)
                }
                for h in 0 ..< c.kvHeadCount {
                    let head = k + i * c.kvWidth + h * c.headSize
                    if let norm = layer.keyNorm { rmsNorm(head, norm, head, count: c.headSize, epsilon: c.rmsEpsilon) }
                    rotate(head, position: position)
                }
                cache.store(layer: l, position: position, keys: k + i * c.kvWidth, values: v + i * c.kvWidth)
            }
            }
            attend(layer: l, tokens: t, start: start, cache: cache)
            if let interrupt, interrupt() { return false }
            layer.output.multiply(attention, tokens: t, into: xb, scratch: activationQ8, pool: pool, precision: activationPrecision)
            axpy(1, xb, x, count: t * d)

            // Feed-forward block (SwiGLU).
            if let interrupt, interrupt() { return false }
            normalize(x, layer.ffnNorm, into: xb, tokens: t)
            layer.gate.multiply(xb, tokens: t, into: gate, scratch: activationQ8, pool: pool, precision: activationPrecision)
            layer.up.multiply(xb, tokens: t, into: up, scratch: activationQ8, pool: pool, precision: activationPrecision, inputUnchanged: true)
            swiGLU(gate, up, count: t * c.ffnSize)
            if let interrupt, interrupt() { return false }
            layer.down.multiply(gate, tokens: t, into: xb, scratch: activationQ8, pool: pool, precision: activationPrecision)
            axpy(1, xb, x, count: t * d)
        }
        cache.count = start + t
        guard computeLogits else { return true }
        // Only the last token's logits are needed: prompts are prefilled to predict what follows them.
        rmsNorm(x + (t - 1) * d, weights.outputNorm, xb, count: d, epsilon: c.rmsEpsilon)
        weights.output.multiply(xb, tokens: 1, into: logits, scratch: activationQ8, pool: pool, precision: activationPrecision)
        return true
    }

    /// RMS-normalises each of `tokens` rows of `source` into `out`, split over the pool.
    private func normalize(_ source: UnsafeMutablePointer<Float>, _ weight: UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>, tokens: Int) {
        let d = config.hiddenSize
        let epsilon = config.rmsEpsilon
        pool.parallelFor(tokens) { first, end in
            for i in first ..< end {
                rmsNorm(source + i * d, weight, out + i * d, count: d, epsilon: epsilon)
            }
        }
    }

    /// NeoX-style rotary embedding: dimension i is rotated with dimension i + Dh/2.
    private func rotate(_ head: UnsafeMutablePointer<Float>, position: Int) {
        let half = config.headSize / 2
        let cosines = ropeCos + position * half
        let sines = ropeSin + position * half
        for i in 0 ..< half {
            let a = head[i]
            let b = head[i + half]
            head[i] = a * cosines[i] - b * sines[i]
            head[i + half] = b * cosines[i] + a * sines[i]
        }
    }

    /// Causal grouped-query attention of the batch's `tokens` queries over the cache, split over the
    /// pool by (token, key/value head, up to `maxHeadsPerCall` of its query heads): the heads of one job
    /// share their keys and values, which are read once for all of them.
    private func attend(layer: Int, tokens t: Int, start: Int, cache: KVCache) {
        let c = config
        let groupSize = c.headCount / c.kvHeadCount
        let slices = (groupSize + maxHeadsPerCall - 1) / maxHeadsPerCall
        let perSlice = (groupSize + slices - 1) / slices  // balanced: a group of 10 is 5 + 5, not 8 + 2
        let scale = 1 / Float(c.headSize).squareRoot()
        let q = self.q
        let attention = self.attention
        let scores = self.scores
        let stride = self.scoreStride
        pool.run { thread, threads in
            let weights = scores + thread * maxHeadsPerCall * stride
            var job = thread
            while job < t * c.kvHeadCount * slices {
                let i = job / (c.kvHeadCount * slices)
                let kvHead = (job / slices) % c.kvHeadCount
                let firstHead = kvHead * groupSize + (job % slices) * perSlice
                let heads = min(perSlice, (kvHead + 1) * groupSize - firstHead)
                let length = start + i + 1
                let kvOffset = kvHead * c.headSize * cache.precision.bytesPerValue
                let values = cache.valueRows(layer: layer) + kvOffset
                let query = q + i * c.queryWidth + firstHead * c.headSize
                let out = attention + i * c.queryWidth + firstHead * c.headSize
                switch cache.precision {
                case .f16:
                    attentionScoresF16(query, heads: heads, keyBlocks: cache.keyBlocks(layer: layer, head: kvHead), count: length,
                                       headSize: c.headSize, scale: scale, into: weights, scoreStride: stride)
                case .f32:
                    attentionScores(query, heads: heads, keys: (cache.keyRows(layer: layer) + kvOffset).assumingMemoryBound(to: Float.self),
                                    stride: c.kvWidth, count: length, headSize: c.headSize, scale: scale, into: weights, scoreStride: stride)
                }
                for h in 0 ..< heads { softmax(weights + h * stride, count: length) }
                switch cache.precision {
                case .f16:
                    attentionWeightedSumF16(weights, weightStride: stride, heads: heads, values: values, stride: c.kvWidth,
                                            count: length, headSize: c.headSize, into: out)
                case .f32:
                    attentionWeightedSum(weights, weightStride: stride, heads: heads,
                                         values: values.assumingMemoryBound(to: Float.self), stride: c.kvWidth,
                                         count: length, headSize: c.headSize, into: out)
                }
                job += threads
            }
        }
    }
}
