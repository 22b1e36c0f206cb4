import Kernels
import ModelFiles
import TestSupport
import XCTest

/// `--type Q4_K_M` (convert, quantize) against the file Qwen published: llama.cpp's `llama-quantize` chose
/// the type of each of its 291 tensors, and the plan must choose the same ones. The rule for `attn_v` and
/// `ffn_down` counts the tensors in the order the file holds them (Qwen's file has its layers in name
/// order, 0, 1, 10, 11, …), which this reproduces only if the plan counts as llama.cpp does.
final class QuantizationMixTests: XCTestCase {
    func testQ4_K_MPlanGivesEveryTensorTheTypeOfQwensFile() throws {
        if let problem = TestPaths.realModelProblem { XCTFail(problem); return }
        let file = try GGUFFile(path: TestPaths.realModel)
        let planned = QuantizationTarget.q4_K_M.types(of: file.tensors.map { ($0.name, $0.dims) })
        XCTAssertEqual(file.tensors.count, planned.count)
        var checked = 0
        for (tensor, type) in zip(file.tensors, planned) {
            XCTAssertEqual(type, tensor.type, tensor.name)
            checked += 1
        }
        XCTAssertEqual(checked, 291)
        XCTAssertEqual(file.metadata["general.file_type"]?.int.map(UInt32.init), QuantizationTarget.q4_K_M.fileType)
    }
}
