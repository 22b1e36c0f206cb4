#if canImport(Glibc)
import Glibc
#endif

/// A parsed, validated GGUF file (format versions 2 and 3), memory-mapped.
///
/// This type is the trust boundary for model files: once `init` returns, every tensor lies inside the
/// file, aligned, with a known type, a sane shape and no overlap with another tensor, so the maths code
/// never checks again. Layout reference: the GGUF spec in ggml's `docs/gguf.md`.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Keys in file order (for `info`).
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let fileSize: Int
    /// Where the tensor data begins: everything before it is the header, the metadata and the tensor table.
    public let dataStart: Int
    private let mapping: MappedFile
    private let tensorIndex: [String: Int]

    /// Limits on untrusted sizes, far above anything a real model needs.
    public static let maxStringBytes = 64 << 20
    public static let maxArrayCount = 1 << 24
    public static let maxTensorCount = 1 << 20
    public static let maxMetadataCount = 1 << 20
    public static let maxDims = 4

    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// See `MappedFile.touchAllPages`.
    @discardableResult
    public func touchAllPages(progress: (Double) -> Void) -> UInt8 { mapping.touchAllPages(progress: progress) }

    init(mapping: MappedFile) throws {
        self.mapping = mapping
        path = mapping.path
        fileSize = mapping.bytes.count
        var reader = ByteReader(bytes: mapping.bytes, path: mapping.path)

        let magic = try reader.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {  // "GGUF" read as little-endian
            throw reader.error("magic", "not a GGUF file (first bytes are not \"GGUF\")")
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            if version.byteSwapped == 2 || version.byteSwapped == 3 {
                throw reader.error("version", "big-endian GGUF is not supported; convert the model on a little-endian machine")
            }
            throw reader.error("version", "unsupported GGUF version \(version) (this reader handles 2 and 3)")
        }
        self.version = version
        let tensorCount = try reader.read(UInt64.self, "tensor_count")
        let metadataCount = try reader.read(UInt64.self, "metadata_kv_count")
        // Each metadata entry needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor entry at
        // least 8 + 4 + 8 + 4 + 8. Checking counts against the bytes left stops forged counts early.
        guard metadataCount <= UInt64(Self.maxMetadataCount), metadataCount * 13 <= UInt64(reader.remaining) else {
            throw reader.error("metadata_kv_count", "count \(metadataCount) is impossible for a file of \(fileSize) bytes")
        }
        guard tensorCount <= UInt64(Self.maxTensorCount), tensorCount * 32 <= UInt64(reader.remaining) else {
            throw reader.error("tensor_count", "count \(tensorCount) is impossible for a file of \(fileSize) bytes")
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for index in 0 ..< Int(metadataCount) {
            let key = try reader.readStrictString("metadata key #\(index)", maxLength: 65_536)
            guard metadata[key] == nil else {
                throw reader.error("metadata key '\(key)'", "appears twice")
            }
            let typeID = try reader.read(UInt32.self, "metadata '\(key)' type")
            metadata[key] = try Self.readValue(&reader, typeID: typeID, field: "metadata '\(key)'", allowArray: true)
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value else {
                throw reader.error("general.alignment", "must be a uint32")
            }
            guard a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw reader.error("general.alignment", "\(a) is not a power of two between 1 and 1 MiB")
            }
            alignment = Int(a)
        }
        self.alignment = alignment

        struct Entry { let name: String; let dims: [Int]; let type: GGMLType; let offset: UInt64; let bytes: Int }
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        for tensorNumber in 0 ..< Int(tensorCount) {
            let name = try reader.readStrictString("tensor #\(tensorNumber) name", maxLength: 4096)
            let field = "tensor '\(name)'"
            guard index[name] == nil else {
                throw reader.error(field, "name appears twice in the tensor directory")
            }
            let dimCount = try reader.read(UInt32.self, field + " n_dims")
            guard dimCount >= 1, dimCount <= UInt32(Self.maxDims) else {
                throw reader.error(field, "has \(dimCount) dimensions (must be 1 to \(Self.maxDims))")
            }
            var dims: [Int] = []
            var elements = 1
            for d in 0 ..< Int(dimCount) {
                let raw = try reader.read(UInt64.self, field + " ne[\(d)]")
                guard raw >= 1, raw <= UInt64(Int32.max) else {
                    throw reader.error(field, "dimension ne[\(d)] = \(raw) is out of range (1 to \(Int32.max))")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow, product <= Int(1) << 48 else {
                    throw reader.error(field, "element count overflows")
                }
                elements = product
                dims.append(Int(raw))
            }
            let typeID = try reader.read(UInt32.self, field + " type")
            guard let type = GGMLType(rawValue: typeID) else {
                throw reader.error(field, "unknown tensor type id \(typeID); this file needs a newer qwentty")
            }
            guard dims[0] % type.blockSize == 0 else {
                throw reader.error(field, "row length \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let bytes = elements / type.blockSize * type.blockBytes
            let offset = try reader.read(UInt64.self, field + " offset")
            guard offset % UInt64(alignment) == 0 else {
                throw reader.error(field, "data offset \(offset) is not aligned to \(alignment) bytes")
            }
            index[name] = entries.count
            entries.append(Entry(name: name, dims: dims, type: type, offset: offset, bytes: bytes))
        }

        // The data section starts at the next multiple of the alignment after the directory.
        let (padded, _) = reader.offset.addingReportingOverflow(alignment - 1)
        let dataStart = padded / alignment * alignment
        if !entries.isEmpty {
            try reader.skip(to: dataStart, "tensor data section")
        }
        let dataBytes = UInt64(fileSize - min(dataStart, fileSize))

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            guard entry.offset <= dataBytes, UInt64(entry.bytes) <= dataBytes - entry.offset else {
                throw reader.error("tensor '\(entry.name)'", "data (offset \(entry.offset), \(entry.bytes) bytes) runs past the end of the file: the file is truncated or corrupt")
            }
            tensors.append(GGUFTensorInfo(name: entry.name, dims: entry.dims, type: entry.type,
                                          fileOffset: dataStart + Int(entry.offset), byteCount: entry.bytes))
        }
        let byOffset = tensors.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset {
            throw reader.error("tensor '\(b.name)'", "data overlaps tensor '\(a.name)'")
        }
        self.tensors = tensors
        self.dataStart = min(dataStart, fileSize)
        tensorIndex = index
    }

    /// The header, metadata and tensor table: what identifies the file's contents without reading its
    /// weights (a cache made from the model checks it).
    public var headerBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: mapping.bytes[..<dataStart]) }

    private static func readValue(_ reader: inout ByteReader, typeID: UInt32, field: String, allowArray: Bool) throws -> GGUFValue {
        switch typeID {
        case 0: return .uint8(try reader.read(UInt8.self, field))
        case 1: return .int8(try reader.read(Int8.self, field))
        case 2: return .uint16(try reader.read(UInt16.self, field))
        case 3: return .int16(try reader.read(Int16.self, field))
        case 4: return .uint32(try reader.read(UInt32.self, field))
        case 5: return .int32(try reader.read(Int32.self, field))
        case 6: return .float32(try reader.readFloat(field))
        case 7:
            let raw = try reader.read(UInt8.self, field)
            guard raw <= 1 else { throw reader.error(field, "bool value \(raw) is neither 0 nor 1") }
            return .bool(raw == 1)
        case 8: return .string(try reader.readString(field, maxLength: maxStringBytes))
        case 9:
            guard allowArray else { throw reader.error(field, "nested arrays are not allowed") }
            let elementType = try reader.read(UInt32.self, field + " array type")
            let count = try reader.read(UInt64.self, field + " array length")
            let minElementBytes: UInt64
            switch elementType {
            case 0, 1, 7: minElementBytes = 1
            case 2, 3: minElementBytes = 2
            case 4, 5, 6: minElementBytes = 4
            case 8, 10, 11, 12: minElementBytes = 8
            case 9: throw reader.error(field, "nested arrays are not allowed")
            default: throw reader.error(field, "unknown array element type \(elementType)")
            }
            guard count <= UInt64(maxArrayCount) else {
                throw reader.error(field, "array length \(count) exceeds the limit of \(maxArrayCount)")
            }
            guard count * minElementBytes <= UInt64(reader.remaining) else {
                throw reader.error(field, "array length \(count) exceeds the \(reader.remaining) bytes left in the file")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0 ..< Int(count) {
                values.append(try readValue(&reader, typeID: elementType, field: field, allowArray: false))
            }
            return .array(values)
        case 10: return .uint64(try reader.read(UInt64.self, field))
        case 11: return .int64(try reader.read(Int64.self, field))
        case 12: return .float64(try reader.readDouble(field))
        default: throw reader.error(field, "unknown metadata value type \(typeID)")
        }
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, a zero-copy view into the mapping (valid while this object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        // Bounds were checked in init.
        mapping.base + tensor.fileOffset
    }

    public func error(_ field: String, _ problem: String) -> ModelFileError {
        ModelFileError(path: path, field: field, problem: problem)
    }

    // Typed metadata accessors: a missing or mistyped key is a file error naming the key.

    public func int(_ key: String) throws -> Int {
        guard let value = metadata[key] else { throw error(key, "missing") }
        guard let v = value.int else { throw error(key, "must be an integer") }
        return v
    }

    public func float(_ key: String) throws -> Float {
        guard let value = metadata[key] else { throw error(key, "missing") }
        guard let v = value.float else { throw error(key, "must be a number") }
        return v
    }

    public func string(_ key: String) throws -> String {
        guard let value = metadata[key] else { throw error(key, "missing") }
        guard let v = value.string else { throw error(key, "must be a string") }
        return v
    }

    public func stringArray(_ key: String) throws -> [String] {
        guard let value = metadata[key] else { throw error(key, "missing") }
        guard let items = value.array else { throw error(key, "must be an array of strings") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else { throw error(key, "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    public func intArray(_ key: String) throws -> [Int] {
        guard let value = metadata[key] else { throw error(key, "missing") }
        guard let items = value.array else { throw error(key, "must be an array of integers") }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = item.int else { throw error(key, "must be an array of integers") }
            out.append(v)
        }
        return out
    }
}
