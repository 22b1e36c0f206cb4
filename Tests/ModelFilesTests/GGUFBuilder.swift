import Foundation
import TestSupport
import ModelFiles
import XCTest

/// Writes GGUF bytes field by field, so tests can make files that are wrong in exactly one way.
struct GGUFBuilder {
    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var metadataCountOverride: UInt64?
    var tensorCountOverride: UInt64?
    /// Metadata entries as raw bytes: key string, type id, value.
    var metadata: [[UInt8]] = []
    var tensors: [[UInt8]] = []
    var alignment = 32
    var data: [UInt8] = []

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func str(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }

    mutating func addU32(_ key: String, _ value: UInt32) { metadata.append(Self.str(key) + Self.u32(4) + Self.u32(value)) }
    mutating func addString(_ key: String, _ value: String) { metadata.append(Self.str(key) + Self.u32(8) + Self.str(value)) }
    mutating func addRaw(_ key: String, type: UInt32, _ value: [UInt8]) { metadata.append(Self.str(key) + Self.u32(type) + value) }
    mutating func addStringArray(_ key: String, _ values: [String]) {
        metadata.append(Self.str(key) + Self.u32(9) + Self.u32(8) + Self.u64(UInt64(values.count)) + values.flatMap(Self.str))
    }

    mutating func addTensor(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        tensors.append(Self.str(name) + Self.u32(UInt32(dims.count)) + dims.flatMap(Self.u64) + Self.u32(type) + Self.u64(offset))
    }

    func build() -> [UInt8] {
        var out = magic + Self.u32(version)
        out += Self.u64(tensorCountOverride ?? UInt64(tensors.count))
        out += Self.u64(metadataCountOverride ?? UInt64(metadata.count))
        for m in metadata { out += m }
        for t in tensors { out += t }
        while out.count % alignment != 0 { out.append(0) }
        return out + data
    }

    /// A valid file with one F32 tensor [32] and one Q8_0 tensor [32 × 2].
    static func valid() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.addString("general.architecture", "qwen2")
        b.addTensor("a", dims: [32], type: 0, offset: 0)
        b.addTensor("b", dims: [32, 2], type: 8, offset: 128)
        b.data = [UInt8](repeating: 0, count: 128 + 68)
        return b
    }
}

/// Writes bytes to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], name: String = "test.gguf") -> String {
    let dir = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// `body` must throw a one-line `ModelFileError` whose field and problem contain the given texts (and,
/// when `path` is given, that names the file): the contract every model-file reader keeps.
func assertModelFileError(_ body: @autoclosure () throws -> Any, path: String? = nil, field: String, problem: String,
                          file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let e = error as? ModelFileError else { return XCTFail("not a ModelFileError: \(error)", file: file, line: line) }
        if let path { XCTAssertEqual(e.path, path, file: file, line: line) }
        XCTAssertTrue(e.field.contains(field), "field '\(e.field)' lacks '\(field)'", file: file, line: line)
        XCTAssertTrue(e.problem.contains(problem), "problem '\(e.problem)' lacks '\(problem)'", file: file, line: line)
        XCTAssertFalse(e.description.contains("\n"), "message must be one line", file: file, line: line)
    }
}
