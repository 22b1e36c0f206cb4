import Foundation
import TestSupport
import XCTest
@testable import ModelFiles

/// Files written by the `safetensors` library itself (scripts/make-fixtures.py): the reader must accept
/// what the reference writes, shapes and dtypes included, and read back the exact values. The values are
/// -3 + 0.25·i, which F32, F16 and BF16 all hold exactly, so the comparison is exact.
final class SafetensorsReferenceTests: XCTestCase {
    private func values(_ tensor: SafetensorsTensor, at base: UnsafeRawPointer) -> [Float] {
        (0 ..< tensor.elementCount).map { i in
            switch tensor.dtype {
            case .f32: return base.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
            case .f16: return Float(base.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))
            case .bf16: return Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            default: return .nan
            }
        }
    }

    private func expected(_ count: Int) -> [Float] { (0 ..< count).map { Float($0) * 0.25 - 3 } }

    func testSingleFileFromTheReferenceWriter() throws {
        let file = try SafetensorsFile(path: TestPaths.fixture("safetensors/model.safetensors"))
        XCTAssertEqual(file.metadata["format"], "pt")
        let shapes = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, ($0.dtype, $0.shape)) })
        XCTAssertEqual(shapes["f32.weight"]?.0, .f32)
        XCTAssertEqual(shapes["f32.weight"]?.1, [3, 4])
        XCTAssertEqual(shapes["f16.weight"]?.0, .f16)
        XCTAssertEqual(shapes["f16.weight"]?.1, [2, 3, 4])
        XCTAssertEqual(shapes["bf16.bias"]?.0, .bf16)
        XCTAssertEqual(shapes["bf16.bias"]?.1, [5])
        XCTAssertEqual(file.tensor(named: "f16.weight")?.ggmlDims, [4, 3, 2], "ggml order is PyTorch's reversed")
        for tensor in file.tensors {
            XCTAssertEqual(values(tensor, at: file.data(of: tensor)), expected(tensor.elementCount), tensor.name)
        }
    }

    func testShardedFolderFromTheReferenceWriter() throws {
        let folder = try SafetensorsFolder(directory: TestPaths.fixture("safetensors/sharded"))
        XCTAssertEqual(folder.tensorNames, ["a.weight", "b.weight", "c.bias"])
        XCTAssertEqual(folder.files.count, 2)
        for name in folder.tensorNames {
            let tensor = try XCTUnwrap(folder.tensor(named: name))
            let data = try XCTUnwrap(folder.data(named: name))
            XCTAssertEqual(values(tensor, at: data), expected(tensor.elementCount), name)
        }
        // The single file is a folder too.
        XCTAssertEqual(try SafetensorsFolder(directory: TestPaths.fixture("safetensors")).tensorNames, ["bf16.bias", "f16.weight", "f32.weight"])
    }
}
