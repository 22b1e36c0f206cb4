/// A cursor over untrusted bytes: every read is bounds-checked and a failure names the field being read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    func error(_ field: String, _ problem: String) -> ModelFileError {
        ModelFileError(path: path, field: field, problem: problem)
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw error(field, "file is truncated at byte \(offset) (needs \(size) more bytes, \(remaining) left)")
        }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ field: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, field))
    }

    mutating func readDouble(_ field: String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, field))
    }

    /// A length-prefixed string. The length is checked against the bytes left and `maxLength` before
    /// anything is allocated, so a forged length cannot exhaust memory.
    mutating func readString(_ field: String, maxLength: Int) throws -> String {
        let length = try read(UInt64.self, field + " length")
        guard length <= UInt64(remaining) else {
            throw error(field, "string length \(length) exceeds the \(remaining) bytes left in the file")
        }
        guard length <= UInt64(maxLength) else {
            throw error(field, "string length \(length) exceeds the limit of \(maxLength) bytes")
        }
        let count = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
        offset += count
        return String(decoding: slice, as: UTF8.self)
    }

    /// Like `readString`, but rejects invalid UTF-8: used for keys and tensor names, which are looked up
    /// by exact match and would otherwise silently collide after repair.
    mutating func readStrictString(_ field: String, maxLength: Int) throws -> String {
        let start = offset
        let text = try readString(field, maxLength: maxLength)
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start + 8 ..< offset])
        guard text.utf8.count == raw.count, text.utf8.elementsEqual(raw) else {
            throw error(field, "not valid UTF-8")
        }
        return text
    }

    mutating func skip(to newOffset: Int, _ field: String) throws {
        guard newOffset >= offset, newOffset <= bytes.count else {
            throw error(field, "file is truncated: offset \(newOffset) is past its end (\(bytes.count) bytes)")
        }
        offset = newOffset
    }
}
