import Kernels
import ModelFiles
import XCTest

/// `--type` names and the per-tensor plan where the real file (RealModelTests) cannot show it.
final class QuantizationTargetTests: XCTestCase {
    /// Rows that fill K-quant blocks keep the K-quants (Qwen2.5-1.5B's 1536-wide rows would).
    func testWideRowsKeepTheKQuants() {
        let tensors: [(name: String, dims: [Int])] = [("token_embd.weight", [1536, 1000]), ("output.weight", [1536, 1000]),
                                                      ("blk.0.attn_v.weight", [1536, 256]), ("blk.0.attn_q.weight", [1536, 1536]),
                                                      ("blk.0.ffn_down.weight", [8960, 1536]), ("blk.0.attn_norm.weight", [1536])]
        XCTAssertEqual(QuantizationTarget.q4_K_M.types(of: tensors), [.q4_K, .q6_K, .q6_K, .q4_K, .q6_K, .f32])
        XCTAssertEqual(QuantizationTarget.every(.q4_0).types(of: tensors), [.q4_0, .q4_0, .q4_0, .q4_0, .q4_0, .f32])
        XCTAssertNil(QuantizationTarget(name: "Q3_K_S"))
        XCTAssertEqual(QuantizationTarget(name: "q4_k_m"), .q4_K_M)
    }
}
