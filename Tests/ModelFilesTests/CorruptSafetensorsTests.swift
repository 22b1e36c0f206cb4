import Foundation
import TestSupport
import XCTest
@testable import ModelFiles

/// Safetensors bytes: the 8-byte header length, the header text (padded with spaces to a multiple of 8
/// bytes, as the reference writer pads it, unless `pad` is false), then the data.
private func safetensors(header: String, data: [UInt8], declaredLength: UInt64? = nil, pad: Bool = true) -> [UInt8] {
    var text = Array(header.utf8)
    while pad, text.count % 8 != 0 { text.append(UInt8(ascii: " ")) }
    return withUnsafeBytes(of: (declaredLength ?? UInt64(text.count)).littleEndian, Array.init) + text + data
}

/// A valid two-tensor file: "a" F32 [2, 2] (16 bytes) then "b" F16 [4] (8 bytes); the header padded to 8
/// bytes as the reference writer does, so the data is aligned.
private func validHeader(aEnd: Int = 16, bEnd: Int = 24, dtypeA: String = "F32", shapeA: String = "[2, 2]",
                         extra: String = "") -> String {
    var text = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"\#(dtypeA)","shape":\#(shapeA),"data_offsets":[0,\#(aEnd)]},"b":{"dtype":"F16","shape":[4],"data_offsets":[\#(aEnd),\#(bEnd)]}\#(extra)}"#
    while text.utf8.count % 8 != 0 { text += " " }
    return text
}

private let validData: [UInt8] = [Float(1), 2, 3, 4].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    + [Float16(0.5), -1, 2, 65504].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }

/// Hand-made bad safetensors files and folders, one per check the readers make: each is refused with a
/// one-line error naming the file, the field and the problem; never a crash, never a read out of bounds.
final class CorruptSafetensorsTests: XCTestCase {
    private func assertRejected(_ bytes: [UInt8], field: String, problem: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        let path = temporaryFile(bytes, name: "bad.safetensors")
        assertModelFileError(try SafetensorsFile(path: path), path: path, field: field, problem: problem, file: file, line: line)
    }

    func testValidFileLoads() throws {
        let file = try SafetensorsFile(path: temporaryFile(safetensors(header: validHeader(), data: validData), name: "ok.safetensors"))
        XCTAssertEqual(file.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        let a = try XCTUnwrap(file.tensor(named: "a"))
        XCTAssertEqual(a.dtype, .f32)
        XCTAssertEqual(a.shape, [2, 2])
        XCTAssertEqual(a.ggmlDims, [2, 2])
        XCTAssertEqual(a.dtype.ggmlType, .f32)
        let values = UnsafeBufferPointer(start: file.data(of: a).assumingMemoryBound(to: Float.self), count: 4)
        XCTAssertEqual(Array(values), [1, 2, 3, 4])
        let b = try XCTUnwrap(file.tensor(named: "b"))
        XCTAssertEqual(Float(file.data(of: b).advanced(by: 6).loadUnaligned(as: Float16.self)), 65504)
        XCTAssertEqual(b.fileOffset, 8 + validHeader().utf8.count + 16)
    }

    func testTooShort() { assertRejected([1, 2, 3], field: "header length", problem: "too short") }
    func testHeaderLengthZero() { assertRejected(safetensors(header: "", data: [], declaredLength: 0), field: "header length", problem: "outside 2 to") }
    func testHeaderLengthHuge() {
        assertRejected(safetensors(header: validHeader(), data: validData, declaredLength: 1 << 40), field: "header length", problem: "outside 2 to")
    }
    func testHeaderPastTheEnd() {
        assertRejected(safetensors(header: validHeader(), data: [], declaredLength: UInt64(validHeader().utf8.count + 100)),
                       field: "header length", problem: "truncated")
    }
    func testNotSafetensors() {
        assertRejected(Array("GGUF\u{3}\0\0\0\0\0\0\0\0\0\0\0".utf8), field: "header length", problem: "not a safetensors file")
        assertRejected(safetensors(header: "[1, 2]", data: []), field: "header", problem: "does not start with '{'")
    }
    func testNotJSON() { assertRejected(safetensors(header: "{\"a\": [1, 2", data: []), field: "header", problem: "not valid JSON") }
    func testUndeclaredData() { assertRejected(safetensors(header: "{}", data: [1]), field: "data", problem: "not declared") }
    func testMetadataNotStrings() {
        assertRejected(safetensors(header: #"{"__metadata__":{"format":7}}"#, data: []), field: "__metadata__ 'format'", problem: "must be a string")
        assertRejected(safetensors(header: #"{"__metadata__":[1]}"#, data: []), field: "__metadata__", problem: "object of strings")
    }
    func testEntryNotAnObject() { assertRejected(safetensors(header: #"{"a":5}"#, data: []), field: "tensor 'a'", problem: "must be an object") }
    func testEmptyName() {
        assertRejected(safetensors(header: #"{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                       field: "tensor ''", problem: "empty name")
    }
    func testMissingDtype() {
        assertRejected(safetensors(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), field: "tensor 'a'", problem: "no dtype")
    }
    func testUnknownDtype() {
        assertRejected(safetensors(header: validHeader(dtypeA: "F12"), data: validData), field: "tensor 'a'", problem: "unknown dtype 'F12'")
    }
    func testBadShapes() {
        for (shape, problem) in [("[2, -2]", "shape[1] is not a whole number"), ("[2, 1.5]", "shape[1] is not a whole number"),
                                 ("[true, 4]", "shape[0] is not a whole number"), ("\"2x2\"", "no shape array"),
                                 ("[1,1,1,1,1,1,1,1,4]", "9 dimensions"), ("[2, 4294967296]", "shape[1] is not a whole number")] {
            assertRejected(safetensors(header: validHeader(shapeA: shape), data: validData), field: "tensor 'a'", problem: problem)
        }
    }
    func testBadOffsets() {
        for offsets in ["[0]", "[0, 16, 24]", "[16, 0]", "[0, \"16\"]"] {
            let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":\#(offsets)}}"#
            assertRejected(safetensors(header: header, data: Array(validData[..<16])), field: "tensor 'a'", problem: "data_offsets")
        }
    }
    func testByteLengthDisagreesWithShape() {
        assertRejected(safetensors(header: validHeader(shapeA: "[2, 3]"), data: validData), field: "tensor 'a'", problem: "needs 24")
    }
    func testTruncatedData() {
        assertRejected(safetensors(header: validHeader(), data: Array(validData.prefix(20))), field: "tensor 'b'", problem: "truncated")
    }
    func testGapBetweenTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        assertRejected(safetensors(header: header, data: [UInt8](repeating: 0, count: 12)), field: "tensor 'b'", problem: "gap")
    }
    func testOverlappingTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertRejected(safetensors(header: header, data: [UInt8](repeating: 0, count: 8)), field: "tensor 'b'", problem: "overlaps")
    }
    func testTrailingBytes() {
        assertRejected(safetensors(header: validHeader(), data: validData + [0, 0, 0, 0]), field: "data", problem: "4 bytes after the last tensor")
    }
    func testMisalignedData() {
        // Padding that leaves the data section at an odd offset: F32 read in place would be misaligned.
        var text = validHeader().trimmingCharacters(in: .whitespaces)
        while text.utf8.count % 8 != 1 { text += " " }
        assertRejected(safetensors(header: text, data: validData, pad: false), field: "tensor '", problem: "not aligned")
    }

    // MARK: Folders and sharded indexes

    private func folder(_ files: [String: [UInt8]]) throws -> String {
        let dir = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-st-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, bytes) in files { FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(bytes)) }
        return dir
    }

    private func single(_ name: String, _ values: [Float]) -> [UInt8] {
        var header = #"{"\#(name)":{"dtype":"F32","shape":[\#(values.count)],"data_offsets":[0,\#(4 * values.count)]}}"#
        while header.utf8.count % 8 != 0 { header += " " }
        return safetensors(header: header, data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }

    private func index(_ map: String) -> [UInt8] { Array(#"{"metadata":{"total_size":16},"weight_map":\#(map)}"#.utf8) }

    private func assertFolderRejected(_ files: [String: [UInt8]], field: String, problem: String,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        assertModelFileError(try SafetensorsFolder(directory: folder(files)), field: field, problem: problem, file: file, line: line)
    }

    func testSingleAndShardedFoldersLoad() throws {
        let one = try SafetensorsFolder(directory: folder(["model.safetensors": single("w", [1, 2])]))
        XCTAssertEqual(one.tensorNames, ["w"])
        XCTAssertEqual(one.data(named: "w")?.loadUnaligned(fromByteOffset: 4, as: Float.self), 2)
        let sharded = try SafetensorsFolder(directory: folder([
            "model.safetensors.index.json": index(#"{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}"#),
            "model-00001-of-00002.safetensors": single("x", [3]),
            "model-00002-of-00002.safetensors": single("y", [4, 5]),
        ]))
        XCTAssertEqual(sharded.tensorNames, ["x", "y"])
        XCTAssertEqual(sharded.files.count, 2)
        XCTAssertEqual(sharded.data(named: "y")?.loadUnaligned(fromByteOffset: 4, as: Float.self), 5)
        XCTAssertNil(sharded.data(named: "z"))
    }

    func testFolderWithoutWeights() throws {
        try assertFolderRejected(["config.json": Array("{}".utf8)], field: "folder", problem: "neither model.safetensors")
    }

    func testShardNamesStayInTheFolder() throws {
        for shard in ["../model.safetensors", "/etc/passwd.safetensors", "sub/model.safetensors", "..", "model.bin", ".hidden.safetensors"] {
            try assertFolderRejected(["model.safetensors.index.json": index(#"{"x":"\#(shard)"}"#)], field: "weight_map 'x'", problem: "not a plain .safetensors file name")
        }
    }

    func testIndexShape() throws {
        try assertFolderRejected(["model.safetensors.index.json": Array("[1]".utf8)], field: "file", problem: "not a JSON object")
        try assertFolderRejected(["model.safetensors.index.json": Array("{\"weight_map\": ".utf8)], field: "file", problem: "not valid JSON")
        try assertFolderRejected(["model.safetensors.index.json": Array("{\"metadata\": {}}".utf8)], field: "weight_map", problem: "missing or empty")
        try assertFolderRejected(["model.safetensors.index.json": index(#"{"x": 3}"#)], field: "weight_map 'x'", problem: "must be a file name")
    }

    func testIndexAndShardsMustAgree() throws {
        let a = "model-00001-of-00002.safetensors", b = "model-00002-of-00002.safetensors"
        try assertFolderRejected(["model.safetensors.index.json": index(#"{"x":"\#(a)"}"#)], field: "file", problem: "cannot open")
        try assertFolderRejected(["model.safetensors.index.json": index(#"{"x":"\#(a)","y":"\#(a)"}"#), a: single("x", [1])],
                                 field: "weight_map 'y'", problem: "not in \(a)")
        try assertFolderRejected(["model.safetensors.index.json": index(#"{"x":"\#(a)","y":"\#(b)"}"#), a: single("y", [1]), b: single("x", [1])],
                                 field: "weight_map 'x'", problem: "but the tensor is in \(b)")
        try assertFolderRejected(["model.safetensors.index.json": index(#"{"x":"\#(a)","y":"\#(b)"}"#), a: single("x", [1]), b: single("x", [2])],
                                 field: "tensor 'x'", problem: "is also in")
        try assertFolderRejected(["model.safetensors.index.json": index(#"{"a":"\#(a)"}"#), a: safetensors(header: validHeader(), data: validData)],
                                 field: "weight_map", problem: "does not list tensor 'b'")
    }
}
