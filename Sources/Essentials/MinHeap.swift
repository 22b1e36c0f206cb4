/// A binary min-heap: the one heap of the project. The tokenizer's BPE merges pop the best-ranked pair
/// from it; the sampler keeps its top-k candidates in one (a bounded heap whose minimum is replaced).
///
/// It lives in Essentials, below both, and is `@inlinable` so that each user's element type is
/// specialised into its hot loop (a generic call per comparison would cost the tokenizer ~2x).
public struct MinHeap<Element: Comparable> {
    @usableFromInline var items: [Element] = []

    @inlinable public init(capacity: Int = 0) { items.reserveCapacity(capacity) }

    @inlinable public var count: Int { items.count }
    @inlinable public var isEmpty: Bool { items.isEmpty }
    /// The smallest element.
    @inlinable public var min: Element? { items.first }
    /// The elements in heap order (not sorted).
    @inlinable public var unordered: [Element] { items }

    @inlinable
    public mutating func push(_ value: Element) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable
    public mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown()
        }
        return first
    }

    /// Replaces the smallest element with `value` (one sift instead of a pop and a push): a bounded
    /// top-k keeps the k largest by replacing its minimum whenever something larger comes.
    @inlinable
    public mutating func replaceMin(with value: Element) {
        guard !items.isEmpty else { return push(value) }
        items[0] = value
        siftDown()
    }

    @inlinable
    mutating func siftDown() {
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            if smallest == parent { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
