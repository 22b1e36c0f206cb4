import Foundation

/// An element type a safetensors file may declare. Only the float types are read as weights; the others
/// are named so that a file using one gets a message saying which, not "unknown".
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    case f64 = "F64", i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", u16 = "U16", u32 = "U32", u64 = "U64"
    case bool = "BOOL", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }

    /// The ggml type the engine computes with, for the types it reads.
    public var ggmlType: GGMLType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }
}

/// One tensor of a safetensors file: its shape in PyTorch order (`[out, in]` for a weight) and where its
/// bytes are in the file.
public struct SafetensorsTensor: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// From the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// ggml order (`dims[0]` the fastest-varying), as `GGUFTensorInfo.dims` has it; a scalar is `[1]`.
    public var ggmlDims: [Int] { shape.isEmpty ? [1] : shape.reversed() }
}

/// A parsed, validated safetensors file (Hugging Face's weight format), memory-mapped.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON (`{"name": {"dtype", "shape",
/// "data_offsets": [begin, end]}, …, "__metadata__": {string: string}}`), then the data, offsets relative
/// to its start. Like `GGUFFile` this is a trust boundary: once `init` returns, the header was a JSON
/// object of the expected shape no larger than `maxHeaderBytes`, every tensor's byte length is its dtype's
/// size times its element count, the tensors tile the data section exactly (sorted by offset, each
/// starting where the previous ends, the last ending at the end of the file: no gap, no overlap, no
/// trailing bytes), and each is aligned to its element size, so the maths code can read it in place.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let tensors: [SafetensorsTensor]
    /// The `__metadata__` strings (e.g. `format: pt`).
    public let metadata: [String: String]
    public let fileSize: Int
    /// Where the tensor data begins (after the 8-byte length and the JSON header).
    public let dataStart: Int
    private let mapping: MappedFile
    private let index: [String: Int]

    /// The reference implementation's limit: a header this large is an attack, not a model.
    public static let maxHeaderBytes = 100 << 20
    public static let maxDims = 8

    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// The length prefix and the JSON header: every tensor's name, type, shape and place.
    public var headerBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: mapping.bytes[..<dataStart]) }

    init(mapping: MappedFile) throws {
        self.mapping = mapping
        path = mapping.path
        fileSize = mapping.bytes.count
        func fail(_ field: String, _ problem: String) -> ModelFileError {
            ModelFileError(path: mapping.path, field: field, problem: problem)
        }
        guard fileSize >= 8 else {
            throw fail("header length", "the file is \(fileSize) bytes, too short for a safetensors header: truncated or not a safetensors file")
        }
        let declared = UInt64(littleEndian: mapping.base.loadUnaligned(as: UInt64.self))
        guard declared >= 2, declared <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header length", "\(declared) bytes is outside 2 to \(Self.maxHeaderBytes): not a safetensors file, or a corrupt one")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= fileSize else {
            throw fail("header length", "\(headerLength) bytes of header do not fit in a file of \(fileSize) bytes: the file is truncated")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: mapping.bytes[8 ..< 8 + headerLength])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail("header", "does not start with '{': not a safetensors file")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw fail("header", "is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw fail("header", "is not a JSON object") }

        var metadata: [String: String] = [:]
        if let raw = object["__metadata__"] {
            guard let entries = raw as? [String: Any] else { throw fail("__metadata__", "must be an object of strings") }
            for (key, value) in entries {
                guard let text = value as? String else { throw fail("__metadata__ '\(key)'", "must be a string") }
                metadata[key] = text
            }
        }
        self.metadata = metadata

        let dataStart = 8 + headerLength
        self.dataStart = dataStart
        let dataBytes = fileSize - dataStart
        var tensors: [SafetensorsTensor] = []
        for (name, value) in object where name != "__metadata__" {
            let field = "tensor '\(name)'"
            guard !name.isEmpty else { throw fail("tensor ''", "has an empty name") }
            guard let entry = value as? [String: Any] else { throw fail(field, "must be an object with dtype, shape and data_offsets") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail(field, "has no dtype string") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw fail(field, "unknown dtype '\(dtypeName)'") }
            guard let shapeValues = entry["shape"] as? [Any] else { throw fail(field, "has no shape array") }
            guard shapeValues.count <= Self.maxDims else {
                throw fail(field, "has \(shapeValues.count) dimensions (at most \(Self.maxDims))")
            }
            var shape: [Int] = []
            var elements = 1
            for (d, item) in shapeValues.enumerated() {
                guard let dim = Self.integer(item), dim >= 0, dim <= Int(Int32.max) else {
                    throw fail(field, "shape[\(d)] is not a whole number from 0 to \(Int32.max)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow, product <= 1 << 48 else { throw fail(field, "element count overflows") }
                elements = product
                shape.append(dim)
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = Self.integer(offsets[0]), let end = Self.integer(offsets[1]) else {
                throw fail(field, "data_offsets must be two whole numbers [begin, end]")
            }
            guard begin >= 0, begin <= end else { throw fail(field, "data_offsets [\(begin), \(end)] run backwards") }
            guard end <= dataBytes else {
                throw fail(field, "data (bytes \(begin) to \(end) of the data section) runs past the end of the file (\(dataBytes) data bytes): the file is truncated")
            }
            guard end - begin == elements * dtype.byteSize else {
                throw fail(field, "holds \(end - begin) bytes, but \(dtype.rawValue) × shape \(shape) needs \(elements * dtype.byteSize)")
            }
            guard (dataStart + begin) % dtype.byteSize == 0 else {
                throw fail(field, "data at file offset \(dataStart + begin) is not aligned to its \(dtype.byteSize)-byte elements")
            }
            tensors.append(SafetensorsTensor(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + begin, byteCount: end - begin))
        }
        // The tensors must tile the data section: sorted by offset, no gap and no overlap, and the last one
        // ends where the file does (bytes after it would be data nobody declared: a corrupt file).
        tensors.sort { ($0.fileOffset, $0.byteCount, $0.name) < ($1.fileOffset, $1.byteCount, $1.name) }
        var expected = dataStart
        for tensor in tensors {
            guard tensor.fileOffset == expected else {
                if tensor.fileOffset < expected {
                    throw fail("tensor '\(tensor.name)'", "data overlaps the tensor before it")
                }
                throw fail("tensor '\(tensor.name)'", "data starts at byte \(tensor.fileOffset - dataStart) of the data section, after a gap of \(tensor.fileOffset - expected) undeclared bytes")
            }
            expected += tensor.byteCount
        }
        guard expected == fileSize else {
            throw fail("data", "\(fileSize - expected) bytes after the last tensor are not declared in the header: the file is corrupt")
        }
        self.tensors = tensors
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// A JSON number that is a whole number (JSONSerialization gives NSNumber; 1.5 and true are refused).
    private static func integer(_ value: Any) -> Int? {
        // Foundation bridges `true` to an NSNumber too; its type code is "c".
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
        return number.intValue
    }

    public func tensor(named name: String) -> SafetensorsTensor? {
        index[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, a zero-copy view into the mapping (valid while this object lives).
    public func data(of tensor: SafetensorsTensor) -> UnsafeRawPointer {
        mapping.base + tensor.fileOffset
    }

    /// See `MappedFile.touchAllPages`.
    @discardableResult
    public func touchAllPages(progress: (Double) -> Void) -> UInt8 { mapping.touchAllPages(progress: progress) }

    /// See `MappedFile.releasePages`: the pages of `tensor`'s bytes.
    public func releasePages(of tensor: SafetensorsTensor) { mapping.releasePages(offset: tensor.fileOffset, count: tensor.byteCount) }
}
