import Foundation
import TestSupport
import XCTest
@testable import ModelFiles

final class GGUFWriterTests: XCTestCase {
    func testRoundTripThroughTheReader() throws {
        let metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("qwen2")), ("u8", .uint8(7)), ("i8", .int8(-7)), ("u16", .uint16(700)),
            ("i16", .int16(-700)), ("u32", .uint32(70_000)), ("i32", .int32(-70_000)), ("u64", .uint64(1 << 40)),
            ("i64", .int64(-(1 << 40))), ("f32", .float32(1.5)), ("f64", .float64(-2.25)), ("flag", .bool(true)),
            ("names", .array([.string("a"), .string("βγ")])), ("numbers", .array([.int32(1), .int32(-2)])),
        ]
        let tensors = [GGUFWriter.TensorEntry(name: "v", dims: [3], type: .f32),
                       GGUFWriter.TensorEntry(name: "m", dims: [32, 2], type: .q8_0)]
        let path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-writer-\(getpid()).gguf").path
        let writer = try GGUFWriter(path: path, metadata: metadata, tensors: tensors)
        let vector: [Float] = [1, 2, 3]
        let matrix = (0 ..< 68).map { UInt8($0) }
        try vector.withUnsafeBytes { try writer.writeTensor($0) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing appears under the final name before finish()")
        try matrix.withUnsafeBytes { try writer.writeTensor($0) }
        try writer.finish()

        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.metadataKeys, metadata.map(\.0))
        for (key, value) in metadata { XCTAssertEqual(file.metadata[key], value, key) }
        let v = try XCTUnwrap(file.tensor(named: "v")), m = try XCTUnwrap(file.tensor(named: "m"))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: file.data(of: v).assumingMemoryBound(to: Float.self), count: 3)), vector)
        XCTAssertEqual(m.type, .q8_0)
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: file.data(of: m), count: 68)), matrix)
        XCTAssertEqual(m.fileOffset % 32, 0)
    }

    func testWrongTensorSizeIsRefusedAndNothingIsLeftBehind() throws {
        let path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-writer-bad-\(getpid()).gguf").path
        do {
            let writer = try GGUFWriter(path: path, metadata: [], tensors: [GGUFWriter.TensorEntry(name: "v", dims: [4], type: .f32)])
            XCTAssertThrowsError(try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try writer.writeTensor($0) })
            XCTAssertThrowsError(try writer.finish())
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }
}
