import Kernels

/// Keys and values of every layer for every position so far, preallocated for the whole context.
///
/// Layout per layer: `[contextSize, Hkv·Dh]` for values, and for keys in F32; in F16 (the default, as
/// llama.cpp keeps its cache) keys are stored in blocks of 16 positions (`keyBlocks`), so that one vector
/// load gives one key element for 16 positions and the score kernel needs no horizontal sums. F16 halves the cache's memory and what attention reads per token,
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
    /// Key and value heads, and the size of each (`width` = `headCount` · `headSize`).
    public let headCount: Int
    public let headSize: Int
    /// Blocks of 16 positions per key head (F16 keys).
    private let blockCount: Int
    /// Number of positions filled (the next token goes at this position).
    public var count: Int = 0
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer

    /// `headCount`: key/value heads (`width` / head size); 1 treats a row as one head.
    public init(layerCount: Int, contextSize: Int, width: Int, headCount: Int = 1, precision: Precision = .f16) {
        self.layerCount = layerCount
        self.contextSize = contextSize
        self.width = width
        self.precision = precision
        self.headCount = max(1, headCount)
        headSize = width / max(1, headCount)
        blockCount = (contextSize + 15) / 16
        let total = layerCount * contextSize * width * precision.bytesPerValue
        let keyTotal = precision == .f16 ? layerCount * self.headCount * blockCount * 16 * headSize * 2 : total
        // Not zeroed: only positions below `count` are ever read, and untouched pages cost no memory, so
        // a long context that a chat never fills does not show in its resident size. (A block's slots
        // past `count` are read by the score kernel, but their scores are never used.)
        keys = .allocate(byteCount: max(1, keyTotal), alignment: 64)
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
            storeHalves(v, into: values.assumingMemoryBound(to: UInt16.self) + offset, count: width)
            // Position p is slot (p mod 8)·2 + (p mod 16)/8 of its block's row for each element: loaded as
            // eight 32-bit lanes, the low halves are positions 0–7 and the high halves 8–15, in order.
            let lane = position % 16
            let slot = (lane % 8) * 2 + lane / 8
            for h in 0 ..< headCount {
                let block = UnsafeMutableRawPointer(mutating: keyBlocks(layer: layer, head: h))
                    .assumingMemoryBound(to: UInt16.self) + (position / 16) * 16 * headSize + slot
                for d in 0 ..< headSize {
                    block[16 * d] = Float16(min(max(k[h * headSize + d], -65504), 65504)).bitPattern
                }
            }
        }
    }

    /// F16 keys of key head `head` in `layer`: blocks of 16 positions, each `headSize` rows of 16 halves
    /// (element d of the block's positions, in the slot order `store` describes). The score kernel
    /// `attentionScoresF16` reads this.
    public func keyBlocks(layer: Int, head: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(keys + ((layer * headCount + head) * blockCount * 16 * headSize) * 2)
    }

    /// F32 keys: the first position's key row of `layer`; rows follow every `width` Floats.
    public func keyRows(layer: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(keys + layer * contextSize * width * precision.bytesPerValue)
    }

    /// The first position's value row of `layer`, laid out as `keyRows`.
    public func valueRows(layer: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(values + layer * contextSize * width * precision.bytesPerValue)
    }

    /// The memory that holds positions `0 ..< count`, as pieces in a fixed order (per layer its keys, per
    /// key head for F16 keys, then its values). The pieces depend on the layout and `count`, not on the
    /// context size: what a saved context writes, and reads back into a cache of any context that holds
    /// `count` positions. F16 keys come in whole blocks of 16 positions; the slots past `count` are never read.
    public func storage(positions count: Int) -> [UnsafeMutableRawBufferPointer] {
        let count = min(max(0, count), contextSize)
        let bytesPerValue = precision.bytesPerValue
        var pieces: [UnsafeMutableRawBufferPointer] = []
        for layer in 0 ..< layerCount {
            switch precision {
            case .f32:
                pieces.append(UnsafeMutableRawBufferPointer(start: keys + layer * contextSize * width * bytesPerValue,
                                                            count: count * width * bytesPerValue))
            case .f16:
                let blocks = (count + 15) / 16
                for h in 0 ..< headCount {
                    pieces.append(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: keyBlocks(layer: layer, head: h)),
                                                                count: blocks * 16 * headSize * 2))
                }
            }
            pieces.append(UnsafeMutableRawBufferPointer(start: values + layer * contextSize * width * bytesPerValue,
                                                        count: count * width * bytesPerValue))
        }
        return pieces
    }

    /// Takes positions `0 ..< count` from `other`, a cache of the same layout, and holds exactly those: how a
    /// trim prepared in a second cache is handed over (a copy, not a swap, so whoever holds this cache
    /// mid-reply goes on with it).
    public func copyPositions(_ count: Int, from other: KVCache) {
        precondition(other.layerCount == layerCount && other.width == width && other.headCount == headCount
                     && other.precision == precision && count <= min(contextSize, other.contextSize, other.count),
                     "copyPositions: caches of different layouts")
        for (to, from) in zip(storage(positions: count), other.storage(positions: count)) {
            to.copyMemory(from: UnsafeRawBufferPointer(from))
        }
        self.count = count
    }

    /// Forgets positions from `newCount` on (e.g. to drop a cut-off reply or reuse a shared prefix).
    public func truncate(to newCount: Int) {
        count = min(count, max(0, newCount))
    }
}
