import Foundation

/// A folder of a test's own under the temporary directory, unique per process and per call, removed with
/// everything in it by `remove()` (a test's tearDown): tests leave no files behind.
public struct ScratchDirectory {
    public let path: String

    public init(_ name: String) {
        path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-\(name)-\(getpid())-\(UUID().uuidString)").path
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
