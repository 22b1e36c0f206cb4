import Essentials
import XCTest

final class MinHeapTests: XCTestCase {
    /// Pops come out sorted, whatever the push order (duplicates included).
    func testPopsInOrder() {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 2, 7, 100, 1000] {
            let values = (0 ..< size).map { _ in Int.random(in: -50 ... 50, using: &generator) }
            var heap = MinHeap<Int>()
            values.forEach { heap.push($0) }
            XCTAssertEqual(heap.count, size)
            XCTAssertEqual(heap.min, values.min())
            var popped: [Int] = []
            while let v = heap.pop() { popped.append(v) }
            XCTAssertEqual(popped, values.sorted())
            XCTAssertTrue(heap.isEmpty)
        }
    }

    /// A bounded heap fed through `replaceMin` keeps the k largest.
    func testReplaceMinKeepsTheLargest() {
        let values = (0 ..< 500).map { ($0 * 7919) % 1009 }
        var heap = MinHeap<Int>(capacity: 10)
        for v in values {
            if heap.count < 10 { heap.push(v) } else if let m = heap.min, v > m { heap.replaceMin(with: v) }
        }
        XCTAssertEqual(heap.unordered.sorted(), Array(values.sorted().suffix(10)))
    }
}
