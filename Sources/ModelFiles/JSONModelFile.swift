import Essentials
import Foundation

/// The small JSON files of a Hugging Face model folder (`config.json`, `generation_config.json`) read into
/// a `Decodable` type keyed as the file is. They come from the folder, so every failure is one
/// `ModelFileError` line: a missing key, a wrong type, a file too large for what it is.
public enum JSONModelFile {
    /// `missing`: the problem to report when the file is absent.
    public static func decode<T: Decodable>(_ type: T.Type, path: String, maxBytes: Int, missing: String) throws -> T {
        if let problem = RegularFile.problem(at: path) {
            throw ModelFileError(path: path, field: "file", problem: problem == "does not exist" ? missing : problem)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maxBytes else {
            throw ModelFileError(path: path, field: "file", problem: "is \(size) bytes, too large for a \((path as NSString).lastPathComponent)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelFileError(path: path, field: "file", problem: "cannot be read (\(error.localizedDescription))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw ModelFileError(path: path, field: key.stringValue, problem: "missing")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw ModelFileError(path: path, field: context.codingPath.map(\.stringValue).joined(separator: "."), problem: "has the wrong type")
        } catch {
            throw ModelFileError(path: path, field: "file", problem: "is not valid JSON of the expected shape (\(error.localizedDescription))")
        }
    }
}
