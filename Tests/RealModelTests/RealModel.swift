import Foundation
import Inference
import TestSupport

/// The real model, loaded once for all the tests of this target (the file is 469 MiB).
enum RealModel {
    /// Thrown (a test failure, not a skip) when the file is not there.
    struct Missing: Error, CustomStringConvertible { let description: String }

    nonisolated(unsafe) private static var shared: LoadedModel?

    static func load() throws -> LoadedModel {
        if let problem = TestPaths.realModelProblem { throw Missing(description: problem) }
        if let loaded = shared { return loaded }
        let loaded = try LoadedModel(path: TestPaths.realModel, threads: 2, contextSize: 2048)
        shared = loaded
        return loaded
    }
}
