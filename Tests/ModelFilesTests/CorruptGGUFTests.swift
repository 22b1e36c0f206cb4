import Foundation
import TestSupport
import XCTest
@testable import ModelFiles

/// Hand-made bad files, one per check the reader makes: each must be rejected with a one-line error
/// naming the file, the field and the problem — never a crash.
final class CorruptGGUFTests: XCTestCase {
    private func assertRejected(_ builder: GGUFBuilder, field: String, problem: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        assertRejected(builder.build(), field: field, problem: problem, file: file, line: line)
    }

    private func assertRejected(_ bytes: [UInt8], field: String, problem: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        let path = temporaryFile(bytes)
        assertModelFileError(try GGUFFile(path: path), path: path, field: field, problem: problem, file: file, line: line)
    }

    func testValidBuilderFileLoads() throws {
        let file = try GGUFFile(path: temporaryFile(GGUFBuilder.valid().build()))
        XCTAssertEqual(file.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(file.tensor(named: "b")?.type, .q8_0)
        XCTAssertEqual(file.tensor(named: "b")?.byteCount, 68)
        XCTAssertEqual(file.metadata["general.architecture"], .string("qwen2"))
    }

    func testBadMagic() {
        var b = GGUFBuilder.valid(); b.magic = Array("GGML".utf8)
        assertRejected(b, field: "magic", problem: "not a GGUF file")
    }

    func testUnsupportedVersion() {
        var b = GGUFBuilder.valid(); b.version = 1
        assertRejected(b, field: "version", problem: "unsupported GGUF version 1")
    }

    func testBigEndianVersion() {
        var b = GGUFBuilder.valid(); b.version = UInt32(3).byteSwapped
        assertRejected(b, field: "version", problem: "big-endian")
    }

    func testTruncatedHeader() {
        assertRejected(Array("GGUF".utf8) + [3, 0], field: "version", problem: "truncated")
    }

    func testImpossibleMetadataCount() {
        var b = GGUFBuilder.valid(); b.metadataCountOverride = 1 << 40
        assertRejected(b, field: "metadata_kv_count", problem: "impossible")
    }

    func testImpossibleTensorCount() {
        var b = GGUFBuilder.valid(); b.tensorCountOverride = UInt64.max
        assertRejected(b, field: "tensor_count", problem: "impossible")
    }

    func testKeyLengthPastEndOfFile() {
        var b = GGUFBuilder()
        b.metadata = [GGUFBuilder.u64(1 << 40) + Array("key".utf8)]
        assertRejected(b, field: "metadata key #0", problem: "exceeds the")
    }

    func testStringValueLengthPastEndOfFile() {
        var b = GGUFBuilder()
        b.addRaw("general.name", type: 8, GGUFBuilder.u64(1_000_000) + Array("short".utf8))
        assertRejected(b, field: "metadata 'general.name'", problem: "exceeds the")
    }

    func testArrayLengthPastEndOfFile() {
        var b = GGUFBuilder()
        b.addRaw("tokenizer.ggml.tokens", type: 9, GGUFBuilder.u32(8) + GGUFBuilder.u64(1 << 20))
        assertRejected(b, field: "tokenizer.ggml.tokens", problem: "array length")
    }

    func testArrayLengthOverCap() {
        var b = GGUFBuilder()
        b.addRaw("x", type: 9, GGUFBuilder.u32(0) + GGUFBuilder.u64(UInt64(GGUFFile.maxArrayCount) + 1))
        assertRejected(b, field: "x", problem: "exceeds the limit")
    }

    func testNestedArray() {
        var b = GGUFBuilder()
        b.addRaw("nested", type: 9, GGUFBuilder.u32(9) + GGUFBuilder.u64(1) + GGUFBuilder.u32(4) + GGUFBuilder.u64(0))
        assertRejected(b, field: "nested", problem: "nested arrays")
    }

    func testUnknownValueType() {
        var b = GGUFBuilder()
        b.addRaw("weird", type: 13, GGUFBuilder.u32(0))
        assertRejected(b, field: "weird", problem: "unknown metadata value type 13")
    }

    func testUnknownArrayElementType() {
        var b = GGUFBuilder()
        b.addRaw("weird", type: 9, GGUFBuilder.u32(77) + GGUFBuilder.u64(1))
        assertRejected(b, field: "weird", problem: "unknown array element type 77")
    }

    func testDuplicateKey() {
        var b = GGUFBuilder.valid(); b.addString("general.architecture", "qwen3")
        assertRejected(b, field: "general.architecture", problem: "appears twice")
    }

    func testKeyNotUTF8() {
        var b = GGUFBuilder()
        b.metadata = [GGUFBuilder.u64(2) + [0xFF, 0xFE] + GGUFBuilder.u32(4) + GGUFBuilder.u32(1)]
        assertRejected(b, field: "metadata key #0", problem: "not valid UTF-8")
    }

    func testInvalidBool() {
        var b = GGUFBuilder()
        b.addRaw("flag", type: 7, [2])
        assertRejected(b, field: "flag", problem: "neither 0 nor 1")
    }

    func testDuplicateTensorName() {
        var b = GGUFBuilder.valid(); b.addTensor("a", dims: [32], type: 0, offset: 64)
        assertRejected(b, field: "tensor 'a'", problem: "appears twice")
    }

    func testTooManyDimensions() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [32, 1, 1, 1, 1], type: 0, offset: 0)
        assertRejected(b, field: "tensor 'c'", problem: "5 dimensions")
    }

    func testZeroDimensions() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [], type: 0, offset: 0)
        assertRejected(b, field: "tensor 'c'", problem: "0 dimensions")
    }

    func testZeroSizedDimension() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [32, 0], type: 0, offset: 0)
        assertRejected(b, field: "tensor 'c'", problem: "ne[1] = 0")
    }

    func testElementCountOverflow() {
        var b = GGUFBuilder.valid()
        let big = UInt64(Int32.max)
        b.addTensor("c", dims: [big, big, big, big], type: 0, offset: 0)
        assertRejected(b, field: "tensor 'c'", problem: "element count overflows")
    }

    func testUnknownTensorType() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [32], type: 99, offset: 0)
        assertRejected(b, field: "tensor 'c'", problem: "unknown tensor type id 99")
    }

    func testRowNotMultipleOfBlockSize() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [33, 2], type: 8, offset: 0)
        assertRejected(b, field: "tensor 'c'", problem: "not a multiple of the Q8_0 block size 32")
    }

    func testUnalignedOffset() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [8], type: 0, offset: 17)
        assertRejected(b, field: "tensor 'c'", problem: "not aligned to 32")
    }

    func testTensorPastEndOfFile() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [32], type: 0, offset: 1 << 20)
        assertRejected(b, field: "tensor 'c'", problem: "runs past the end of the file")
    }

    func testHugeOffsetDoesNotOverflow() {
        var b = GGUFBuilder.valid(); b.addTensor("c", dims: [32], type: 0, offset: UInt64.max - 31)
        assertRejected(b, field: "tensor 'c'", problem: "runs past the end of the file")
    }

    func testOverlappingTensors() {
        // "b" occupies bytes 128..<196 of the data section; "c" starts inside it, and the file is long
        // enough that only the overlap is wrong.
        var b = GGUFBuilder.valid()
        b.addTensor("c", dims: [32], type: 0, offset: 160)
        b.data = [UInt8](repeating: 0, count: 320)
        assertRejected(b, field: "tensor", problem: "overlaps")
    }

    func testAlignmentNotPowerOfTwo() {
        var b = GGUFBuilder.valid(); b.addU32("general.alignment", 48)
        assertRejected(b, field: "general.alignment", problem: "not a power of two")
    }

    func testAlignmentWrongType() {
        var b = GGUFBuilder.valid(); b.addString("general.alignment", "32")
        assertRejected(b, field: "general.alignment", problem: "must be a uint32")
    }

    func testEmptyFile() {
        assertRejected([], field: "file", problem: "empty")
    }

    func testMissingFile() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { error in
            XCTAssertEqual((error as? ModelFileError)?.field, "file")
            XCTAssertTrue("\(error)".contains("cannot open"))
        }
    }

    func testDirectoryIsNotAModel() {
        XCTAssertThrowsError(try GGUFFile(path: TestPaths.temporaryDirectory.path)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    /// A real fixture cut at many lengths: every cut either fails with a ModelFileError or (only when
    /// the cut falls in trailing padding after the last tensor) loads; nothing crashes.
    func testTruncatedRealFixture() throws {
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("tiny-qwen3-q8_0.gguf"))))
        let complete = try GGUFFile(path: TestPaths.fixture("tiny-qwen3-q8_0.gguf"))
        let dataEnd = complete.tensors.map { $0.fileOffset + $0.byteCount }.max() ?? full.count
        var lengths = Array(stride(from: 0, to: min(full.count, 20_000), by: 13))
        lengths += Array(stride(from: 20_000, to: full.count, by: 997)) + [dataEnd - 1, dataEnd, full.count - 1]
        var rejected = 0
        for length in lengths {
            let path = temporaryFile(Array(full.prefix(length)), name: "truncated.gguf")
            do {
                _ = try GGUFFile(path: path)
                XCTAssertGreaterThanOrEqual(length, dataEnd, "a file cut at \(length) of \(full.count) bytes loaded")
            } catch let error as ModelFileError {
                XCTAssertFalse(error.description.isEmpty)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, lengths.count - 3)
    }
}
