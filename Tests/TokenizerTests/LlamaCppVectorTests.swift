import Foundation
import ModelFiles
import TestSupport
import XCTest
@testable import Tokenizer

/// llama.cpp's own test vectors for the Qwen2 vocabulary (`ggml-vocab-qwen2.gguf.inp/.out`).
final class LlamaCppVectorTests: XCTestCase {
    func testAllLlamaCppVectors() throws {
        guard let vocab = TestPaths.sharedTokenizerFile("ggml-vocab-qwen2.gguf"),
              let inpPath = TestPaths.sharedTokenizerFile("ggml-vocab-qwen2.gguf.inp"),
              let outPath = TestPaths.sharedTokenizerFile("ggml-vocab-qwen2.gguf.out") else {
            throw XCTSkip(TestPaths.missingShared("ggml-vocab-qwen2.gguf(.inp/.out)"))
        }
        let tokenizer = try QwenTokenizer(gguf: GGUFFile(path: vocab))
        // Inputs are separated by "\n__ggml_vocab_test__\n" lines, as llama.cpp's test-tokenizer-0 reads them.
        var inputs = try String(contentsOfFile: inpPath, encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n")
        var outputs = try String(contentsOfFile: outPath, encoding: .utf8).components(separatedBy: "\n")
        if inputs.last == "" { inputs.removeLast() }
        if outputs.last == "" { outputs.removeLast() }
        XCTAssertEqual(inputs.count, 46)
        XCTAssertEqual(inputs.count, outputs.count)
        for (input, expected) in zip(inputs, outputs) {
            let ids = tokenizer.encode(input).map(Int.init)
            // NFC is the one documented difference (HF normalises, llama.cpp does not); no vector has a
            // combining sequence, so every vector must match exactly.
            XCTAssertEqual(ids, expected.split(separator: " ").compactMap { Int($0) }, "input: \(input.debugDescription)")
        }
    }
}
