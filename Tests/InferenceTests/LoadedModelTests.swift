import Essentials
import ModelFiles
import TestSupport
import Transformer
import XCTest
@testable import Inference

final class LoadedModelTests: XCTestCase {
    /// The estimate is refused against the memory available, before any buffer exists, with one line
    /// naming each figure; with room to spare the same file passes.
    func testMemoryEstimateIsCheckedAgainstWhatIsAvailable() throws {
        let file = try GGUFFile(path: TestPaths.fixture("tiny-qwen2-f32.gguf"))
        let config = try ModelConfig(gguf: file)
        XCTAssertNoThrow(try LoadedModel.checkMemory(source: .gguf(file), config: config, context: 4096, maxContext: 4096, threads: 2,
                                                     available: 1 << 40))
        XCTAssertThrowsError(try LoadedModel.checkMemory(source: .gguf(file), config: config, context: 4096, maxContext: 4096, threads: 2,
                                                         available: 1 << 20)) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), message)
            for part in ["needs about", "weights", "KV caches", "2 × 4096 + 4096 positions", "1.0 MiB is available", "lower --ctx-size"] {
                XCTAssertTrue(message.contains(part), "'\(part)' missing from: \(message)")
            }
        }
    }

    /// The KV estimate is the size the cache really allocates.
    func testCacheEstimateMatchesTheCache() throws {
        let cache = KVCache(layerCount: 3, contextSize: 100, width: 64)
        XCTAssertEqual(KVCache.bytes(layerCount: 3, contextSize: 100, width: 64), Double(cache.byteCount))
    }

    func testByteFormatting() {
        XCTAssertEqual(formatBytes(512), "512 B")
        XCTAssertEqual(formatBytes(1536), "1.5 KiB")
        XCTAssertEqual(formatBytes(491_400_064), "468.6 MiB")
        XCTAssertEqual(formatBytes(Double(3) * Double(1 << 30)), "3.00 GiB")
        XCTAssertEqual(formatBytes(Double(1 << 40)), "1.00 TiB")
    }
}
