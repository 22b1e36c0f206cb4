/// Byte-level BPE: turns the bytes of one pre-tokenized piece into token ids by applying the ranked merges.
///
/// At every step the adjacent pair with the lowest merge rank is merged, the leftmost one on ties —
/// Hugging Face's rule. A binary heap of candidate pairs over a linked list of symbols makes that
/// O(n log n), so a 100 KB run of one character does not take quadratic time.
import Essentials
struct BytePairEncoder {
    /// Token id of each single byte.
    let byteTokens: [Int32]
    /// Merge table: key `left << 32 | right` → (rank, merged id).
    let merges: [UInt64: (rank: Int32, merged: Int32)]

    init(byteTokens: [Int32], merges: [UInt64: (rank: Int32, merged: Int32)]) {
        self.byteTokens = byteTokens
        self.merges = merges
    }

    @inline(__always)
    private func merge(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Appends the ids for `bytes` to `out`.
    func encode<C: Collection>(_ bytes: C, into out: inout [Int32]) where C.Element == UInt8 {
        var ids = bytes.map { byteTokens[Int($0)] }
        let n = ids.count
        if n <= 1 {
            out.append(contentsOf: ids)
            return
        }
        var next = Array(1 ... n)       // n means "none"
        var prev = Array(-1 ..< n - 1)  // -1 means "none"
        var alive = [Bool](repeating: true, count: n)
        // Heap entries pack (rank, position) so that integer order is (rank, position) order.
        var heap = MinHeap<UInt64>()
        for i in 0 ..< n - 1 {
            if let m = merge(ids[i], ids[i + 1]) { heap.push(UInt64(m.rank) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let rank = Int32(truncatingIfNeeded: top >> 32)
            let i = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
            // Skip entries made stale by an earlier merge.
            guard alive[i], next[i] < n, let m = merge(ids[i], ids[next[i]]), m.rank == rank else { continue }
            let j = next[i]
            ids[i] = m.merged
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0, let left = merge(ids[prev[i]], ids[i]) {
                heap.push(UInt64(left.rank) << 32 | UInt64(prev[i]))
            }
            if next[i] < n, let right = merge(ids[i], ids[next[i]]) {
                heap.push(UInt64(right.rank) << 32 | UInt64(i))
            }
        }
        var i = 0
        while i < n {
            out.append(ids[i])
            i = next[i]
        }
    }
}
