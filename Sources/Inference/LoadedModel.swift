import Essentials
import Kernels
import ModelFiles
import Tokenizer
import Transformer

/// Everything needed to run one model (a GGUF file or a Hugging Face folder): opened, validated and
/// wired together.
public final class LoadedModel {
    public let source: ModelSource
    public let tokenizer: QwenTokenizer
    public let model: QwenModel
    public let generator: TextGenerator
    /// The chat format, or nil for a vocabulary without ChatML tokens (raw prompts only).
    public let template: ChatTemplate?
    public let pool: ThreadPool
    public let contextSize: Int
    public let loadSeconds: Double
    /// `ModelSource.fingerprint`, taken once at load.
    public let fingerprint: UInt64
    /// Sampling when no option says otherwise: a folder's `generation_config.json` over Qwen2.5-Instruct's.
    public let samplerDefaults: SamplerSettings

    /// Default context when none is asked for: enough for a long chat, while the F32 KV cache of
    /// Qwen2.5-0.5B (24 layers × 128 key/value floats × 2 × 4 bytes per position) stays at 96 MiB instead
    /// of the 768 MiB a full 32k context would take; its pages are touched only as the chat fills them.
    public static let defaultContextSize = 4096
    /// Positions the sentiment classifier may need: its cached prompt, a message window and the answer.
    public static let classifierContext = 2048

    /// `quantizeTo`: a Hugging Face folder's matrices are quantised to that type at load (`--quant`);
    /// `progress` hears the fraction done. `cachePrecision`: how KV caches store keys and values (`--kv-cache`).
    public init(path: String, threads: Int? = nil, contextSize: Int? = nil, quantizeTo: QuantizationTarget? = nil,
                cachePrecision: KVCache.Precision = .f16, progress: (Double) -> Void = { _ in }) throws {
        let start = monotonicSeconds()
        pool = ThreadPool(threads: threads ?? ThreadPool.physicalCores)
        let (source, config, tokenizer, generation) = try ModelSource.open(path: path, quantizeTo: quantizeTo, pool: pool, progress: progress)
        let generationPath = path + "/generation_config.json"
        samplerDefaults = try generation?.samplerSettings(base: SamplerSettings(), path: generationPath) ?? SamplerSettings()
        var stops: Set<Int32> = []
        for id in generation?.eos_token_id ?? [] {
            guard id >= 0, id < tokenizer.vocabularySize else {
                throw ModelFileError(path: generationPath, field: "eos_token_id", problem: "\(id) is not a token of the \(tokenizer.vocabularySize)-token vocabulary")
            }
            stops.insert(Int32(id))
        }
        self.source = source
        self.tokenizer = tokenizer
        let context = max(SamplingParameter.minimumContext, min(contextSize ?? Self.defaultContextSize, config.trainedContext))
        self.contextSize = context
        // The sentiment classifier keeps its own cache (cached prompt + a message window), which may be
        // longer than a small chat context (`-c 256`); the model's position tables cover both.
        let maxContext = max(context, min(Self.classifierContext, config.trainedContext))
        try Self.checkMemory(source: source, config: config, context: context, maxContext: maxContext, threads: pool.threadCount,
                             cachePrecision: cachePrecision)
        model = try QwenModel(source: source.tensorSource, config: config, pool: pool, maxContext: maxContext,
                              cachePrecision: cachePrecision)
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw source.tensorSource.error("tokenizer", "vocabulary (\(tokenizer.vocabularySize)) is larger than the embedding matrix (\(model.config.vocabularySize))")
        }
        generator = TextGenerator(model: model, tokenizer: tokenizer, extraStopTokens: stops)
        template = try? ChatTemplate(tokenizer: tokenizer, templateSource: source.chatTemplateSource)
        fingerprint = source.fingerprint
        loadSeconds = monotonicSeconds() - start
    }

    /// Refuses, before anything is allocated, a model whose weights, KV caches (the chat's, the second one a
    /// trim is prepared in, and the classifier's) and scratch would not fit in the memory the system has available: the shape comes
    /// from the file's metadata, and a 1 MB file can ask for gigabytes. One line names every figure.
    static func checkMemory(source: ModelSource, config: ModelConfig, context: Int, maxContext: Int, threads: Int,
                            cachePrecision: KVCache.Precision = .f16, available: Int = ProcessMemory.availableBytes) throws {
        let weights = Double(source.tensorTypes.reduce(0) { $0 + $1.bytes })
        let cache = 2 * KVCache.bytes(layerCount: config.layerCount, contextSize: context, width: config.kvWidth, precision: cachePrecision)
            + KVCache.bytes(layerCount: config.layerCount, contextSize: maxContext, width: config.kvWidth, precision: cachePrecision)
        let scratch = QwenModel.scratchBytes(config: config, maxContext: maxContext, threads: threads)
        let total = weights + cache + scratch
        guard available > 0, total > Double(available) else { return }  // 0: /proc/meminfo unreadable
        throw ModelFileError(path: source.path, field: "memory", problem: 
            "running this model needs about \(formatBytes(total)) (weights \(formatBytes(weights)), KV caches "
            + "\(formatBytes(cache)) for 2 × \(context) + \(maxContext) positions, scratch \(formatBytes(scratch))) but "
            + "\(formatBytes(available)) is available; lower --ctx-size or use a smaller model")
    }

    /// The file's type as llama.cpp names it: `general.file_type` ("Q4_K_M" for Qwen's q4_k_m files, which
    /// are mostly Q5_0 and Q8_0 by bytes), else the dominant weight type by bytes ("Q8_0", "Q4_K", …).
    public var weightTypeSummary: String {
        if let name = source.fileTypeName { return name }
        var bytes: [GGMLType: Int] = [:]
        for t in source.tensorTypes where t.matrix { bytes[t.type, default: 0] += t.bytes }
        return bytes.max { $0.value < $1.value }?.key.name ?? "?"
    }

    /// What the file is made of: tensor count per type, most tensors first ("Q5_0 ×133, F32 ×121, …").
    public var weightTypeMix: String {
        var counts: [String: Int] = [:]
        for t in source.tensorTypes { counts[t.type.name, default: 0] += 1 }
        return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }
}
