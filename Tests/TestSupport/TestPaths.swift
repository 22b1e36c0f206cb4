import Foundation

/// Where tests find their data: fixtures committed under `Tests/Fixtures` (made by
/// `scripts/make-fixtures.py`) and the real Qwen vocabulary in `../shared/qwen-tokenizer`.
public enum TestPaths {
    /// The package root, found from this source file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    public static func fixture(_ name: String) -> String {
        fixtures.appendingPathComponent(name).path
    }

    public static let sharedTokenizer = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/qwen-tokenizer")

    /// Path of a file in `../shared/qwen-tokenizer`, or nil when it is absent (the caller skips with a
    /// message naming the path, as shared/qwen-tokenizer/README.md asks).
    public static func sharedTokenizerFile(_ name: String) -> String? {
        let path = sharedTokenizer.appendingPathComponent(name).path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    public static func missingShared(_ name: String) -> String {
        "needs \(sharedTokenizer.appendingPathComponent(name).path), which is not there"
    }

    /// Decodes a JSON fixture file.
    public static func loadJSON<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return try JSONDecoder().decode(T.self, from: data)
    }

    /// Reads a little-endian float32 fixture file.
    public static func loadFloats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in
            (0 ..< raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
