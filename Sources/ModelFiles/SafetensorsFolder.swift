import Foundation

/// The weights of a Hugging Face model folder: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` names (`{"metadata": {…}, "weight_map": {"tensor": "model-00001-of-00002.safetensors"}}`).
///
/// The index is untrusted input too: it is read only up to `maxIndexBytes`, every shard name must be a
/// plain file name inside the folder (no path separator, no `..`, ending in `.safetensors`), every tensor
/// it maps must be in the shard it names, and no tensor may be in two shards, so one name always means
/// one set of bytes.
public final class SafetensorsFolder: @unchecked Sendable {
    public let directory: String
    /// The files read, in the order of their names.
    public let files: [SafetensorsFile]
    /// Every tensor, by name: the file it is in and where.
    private let location: [String: (file: Int, tensor: SafetensorsTensor)]

    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"
    public static let maxIndexBytes = 64 << 20

    public init(directory: String) throws {
        self.directory = directory
        let fileManager = FileManager.default
        let indexPath = directory + "/" + Self.indexFileName
        let singlePath = directory + "/" + Self.singleFileName
        var files: [SafetensorsFile] = []
        var location: [String: (file: Int, tensor: SafetensorsTensor)] = [:]
        func add(_ file: SafetensorsFile) throws {
            for tensor in file.tensors {
                if let other = location[tensor.name] {
                    throw ModelFileError(path: file.path, field: "tensor '\(tensor.name)'",
                                         problem: "is also in \(files[other.file].path): one name must mean one tensor")
                }
                location[tensor.name] = (files.count, tensor)
            }
            files.append(file)
        }
        if fileManager.fileExists(atPath: indexPath) {
            let weightMap = try Self.readIndex(indexPath)
            for shard in Set(weightMap.values).sorted() {
                try add(SafetensorsFile(path: directory + "/" + shard))
            }
            for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
                guard let found = location[name] else {
                    throw ModelFileError(path: indexPath, field: "weight_map '\(name)'", problem: "is not in \(shard): the shard is incomplete or the index is wrong")
                }
                let holder = (files[found.file].path as NSString).lastPathComponent
                guard holder == shard else {
                    throw ModelFileError(path: indexPath, field: "weight_map '\(name)'", problem: "says \(shard), but the tensor is in \(holder)")
                }
            }
            if let stray = location.keys.sorted().first(where: { weightMap[$0] == nil }) {
                throw ModelFileError(path: indexPath, field: "weight_map", problem: "does not list tensor '\(stray)', which a shard holds")
            }
        } else if fileManager.fileExists(atPath: singlePath) {
            try add(SafetensorsFile(path: singlePath))
        } else {
            throw ModelFileError(path: directory, field: "folder", problem: "has neither \(Self.singleFileName) nor \(Self.indexFileName): not a Hugging Face model folder with safetensors weights")
        }
        self.files = files
        self.location = location
    }

    /// The index's weight map, checked: a JSON object no larger than `maxIndexBytes` with a `weight_map`
    /// of tensor name → shard file name, each a plain `.safetensors` file name inside the folder.
    static func readIndex(_ path: String) throws -> [String: String] {
        func fail(_ field: String, _ problem: String) -> ModelFileError { ModelFileError(path: path, field: field, problem: problem) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maxIndexBytes else { throw fail("file", "is \(size) bytes, more than an index can need (\(maxIndexBytes))") }
        let mapping = try MappedFile(path: path)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(mapping.bytes))
        } catch {
            throw fail("file", "is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw fail("file", "is not a JSON object") }
        guard let map = object["weight_map"] as? [String: Any], !map.isEmpty else {
            throw fail("weight_map", "is missing or empty (expected tensor name → shard file name)")
        }
        var weightMap: [String: String] = [:]
        for (name, value) in map {
            guard let shard = value as? String else { throw fail("weight_map '\(name)'", "must be a file name") }
            guard isPlainShardName(shard) else {
                throw fail("weight_map '\(name)'", "shard '\(shard)' is not a plain .safetensors file name inside the folder")
            }
            weightMap[name] = shard
        }
        return weightMap
    }

    /// A file name with no way out of the folder: no separator, not `.` or `..`, no NUL, `.safetensors` at the end.
    static func isPlainShardName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("\\") && !name.contains("\0") && !name.hasPrefix(".")
            && name.hasSuffix(".safetensors") && name.utf8.count <= 255
    }

    /// Tensor names, sorted.
    public var tensorNames: [String] { location.keys.sorted() }

    public func tensor(named name: String) -> SafetensorsTensor? {
        location[name]?.tensor
    }

    /// Gives the file pages of tensor `name` back to the system (`MappedFile.releasePages`).
    public func releasePages(named name: String) {
        if let (file, tensor) = location[name] { files[file].releasePages(of: tensor) }
    }

    /// The raw bytes of tensor `name` (valid while this object lives), or nil when there is none.
    public func data(named name: String) -> UnsafeRawPointer? {
        location[name].map { files[$0.file].data(of: $0.tensor) }
    }
}
