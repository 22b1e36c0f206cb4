/// Keys and values of every layer for every position so far, preallocated for the whole context.
///
/// Layout per layer: `[contextSize, Hkv·Dh]` for keys and the same for values, F32. A chat session keeps
/// one cache across turns, so each new turn only prefills its own tokens.
public final class KVCache {
    public let layerCount: Int
    public let contextSize: Int
    public let width: Int
    /// Number of positions filled (the next token goes at this position).
    public var count: Int = 0
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>

    public init(layerCount: Int, contextSize: Int, width: Int) {
        self.layerCount = layerCount
        self.contextSize = contextSize
        self.width = width
        let total = layerCount * contextSize * width
        // Not zeroed: only positions below `count` are ever read, and untouched pages cost no memory, so
        // a long context that a chat never fills does not show in its resident size.
        keys = .allocate(capacity: total)
        values = .allocate(capacity: total)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes held by the cache (for stats).
    public var byteCount: Int { 2 * layerCount * contextSize * width * MemoryLayout<Float>.size }

    /// What a cache of this shape takes, before it exists (a Double: the shape may come from a hostile file).
    public static func bytes(layerCount: Int, contextSize: Int, width: Int) -> Double {
        2 * Double(layerCount) * Double(contextSize) * Double(width) * Double(MemoryLayout<Float>.size)
    }

    public func keys(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + (layer * contextSize + position) * width
    }

    public func values(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + (layer * contextSize + position) * width
    }

    /// Forgets positions from `newCount` on (e.g. to drop a cut-off reply or reuse a shared prefix).
    public func truncate(to newCount: Int) {
        count = min(count, max(0, newCount))
    }
}
