import Kernels

/// Keys and values of every layer for every position so far, preallocated for the whole context.
///
/// Layout per layer: `[contextSize, Hkv·Dh]` for keys and the same for values, in F16 (the default, as
/// llama.cpp keeps its cache) or F32. F16 halves the cache's memory and what attention reads per token,
/// which grows with the context: at 4096 positions Qwen2.5-0.5B's cache is 48 MiB instead of 96 MiB, all of
/// it read for every generated token. A chat session keeps one cache across turns, so each new turn only
/// prefills its own tokens.
public final class KVCache {
    /// How cached keys and values are stored.
    public enum Precision: String, Sendable, CaseIterable {
        case f16, f32
        public var bytesPerValue: Int { self == .f16 ? 2 : 4 }
    }

    public let layerCount: Int
    public let contextSize: Int
    public let width: Int
    public let precision: Precision
    /// Number of positions filled (the next token goes at this position).
    public var count: Int = 0
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer

    public init(layerCount: Int, contextSize: Int, width: Int, precision: Precision = .f16) {
        self.layerCount = layerCount
        self.contextSize = contextSize
        self.width = width
        self.precision = precision
        let total = layerCount * contextSize * width * precision.bytesPerValue
        // Not zeroed: only positions below `count` are ever read, and untouched pages cost no memory, so
        // a long context that a chat never fills does not show in its resident size.
        keys = .allocate(byteCount: max(1, total), alignment: 64)
        values = .allocate(byteCount: max(1, total), alignment: 64)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes held by the cache (for stats).
    public var byteCount: Int { 2 * layerCount * contextSize * width * precision.bytesPerValue }

    /// What a cache of this shape takes, before it exists (a Double: the shape may come from a hostile file).
    public static func bytes(layerCount: Int, contextSize: Int, width: Int, precision: Precision = .f16) -> Double {
        2 * Double(layerCount) * Double(contextSize) * Double(width) * Double(precision.bytesPerValue)
    }

    /// Stores the key and value rows (`width` Floats each) of `position` in `layer`.
    public func store(layer: Int, position: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        let offset = (layer * contextSize + position) * width
        switch precision {
        case .f32:
            (keys.assumingMemoryBound(to: Float.self) + offset).update(from: k, count: width)
            (values.assumingMemoryBound(to: Float.self) + offset).update(from: v, count: width)
        case .f16:
            storeHalves(k, into: keys.assumingMemoryBound(to: UInt16.self) + offset, count: width)
            storeHalves(v, into: values.assumingMemoryBound(to: UInt16.self) + offset, count: width)
        }
    }

    /// The first position's key row of `layer`; rows follow every `width` values (F16 or F32 by `precision`).
    public func keyRows(layer: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(keys + layer * contextSize * width * precision.bytesPerValue)
    }

    /// The first position's value row of `layer`, laid out as `keyRows`.
    public func valueRows(layer: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(values + layer * contextSize * width * precision.bytesPerValue)
    }

    /// Forgets positions from `newCount` on (e.g. to drop a cut-off reply or reuse a shared prefix).
    public func truncate(to newCount: Int) {
        count = min(count, max(0, newCount))
    }
}
