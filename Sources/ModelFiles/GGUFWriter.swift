import Essentials

/// Writes a GGUF v3 file: metadata, tensor directory, then aligned tensor data.
///
/// Tensors are described up front (name, dims, type) and their bytes are then streamed in the same
/// order, so a large model is never held in memory twice. The file is written through an
/// `AtomicFile.Writer`: a failed or interrupted write never leaves a half-written model under the final
/// name.
public final class GGUFWriter {
    public struct TensorEntry {
        public let name: String
        public let dims: [Int]
        public let type: GGMLType
        public init(name: String, dims: [Int], type: GGMLType) {
            self.name = name
            self.dims = dims
            self.type = type
        }
        var byteCount: Int { dims.reduce(1, *) / type.blockSize * type.blockBytes }
    }

    public let path: String
    private let file: AtomicFile.Writer
    private let alignment: Int
    private var entries: [TensorEntry] = []
    private var written = 0

    public init(path: String, metadata: [(String, GGUFValue)], tensors: [TensorEntry], alignment: Int = 32) throws {
        self.path = path
        self.alignment = alignment
        file = try Self.wrapping(path) { try AtomicFile.Writer(path: path) }
        entries = tensors
        var header: [UInt8] = []
        header += Array("GGUF".utf8)
        Self.append(UInt32(3), to: &header)
        Self.append(UInt64(tensors.count), to: &header)
        Self.append(UInt64(metadata.count), to: &header)
        for (key, value) in metadata {
            Self.appendString(key, to: &header)
            Self.appendValue(value, to: &header, withType: true)
        }
        var offset = 0
        for t in tensors {
            Self.appendString(t.name, to: &header)
            Self.append(UInt32(t.dims.count), to: &header)
            for d in t.dims { Self.append(UInt64(d), to: &header) }
            Self.append(t.type.rawValue, to: &header)
            Self.append(UInt64(offset), to: &header)
            offset += (t.byteCount + alignment - 1) / alignment * alignment
        }
        while header.count % alignment != 0 { header.append(0) }
        try write(header)
    }

    /// Appends the next tensor's bytes (in directory order).
    public func writeTensor(_ bytes: UnsafeRawBufferPointer) throws {
        guard written < entries.count, bytes.count == entries[written].byteCount else {
            throw ModelFileError(path: path, field: "tensor data", problem: "tensor \(written) has the wrong size or is one too many")
        }
        try write(bytes)
        let padding = (alignment - bytes.count % alignment) % alignment
        if padding > 0 { try write([UInt8](repeating: 0, count: padding)) }
        written += 1
    }

    /// Flushes and moves the file to its final name.
    public func finish() throws {
        guard written == entries.count else {
            throw ModelFileError(path: path, field: "tensor data", problem: "only \(written) of \(entries.count) tensors were written")
        }
        try Self.wrapping(path) { try file.commit() }
    }

    private func write(_ bytes: [UInt8]) throws {
        try Self.wrapping(path) { try file.write(bytes) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        try Self.wrapping(path) { try file.write(bytes) }
    }

    /// A file error in the words of every other model-file error (file, field, problem).
    private static func wrapping<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as AtomicFile.FileError {
            throw ModelFileError(path: path, field: "file", problem: error.reason)
        }
    }

    private static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &out)
        out += Array(s.utf8)
    }

    private static func typeID(_ value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    private static func appendValue(_ value: GGUFValue, to out: inout [UInt8], withType: Bool) {
        if withType { append(typeID(value), to: &out) }
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let s): appendString(s, to: &out)
        case .array(let items):
            // An empty array's element type is unknowable from the value; uint8 is as good as any.
            append(items.first.map(typeID) ?? 0, to: &out)
            append(UInt64(items.count), to: &out)
            for item in items { appendValue(item, to: &out, withType: false) }
        }
    }
}
