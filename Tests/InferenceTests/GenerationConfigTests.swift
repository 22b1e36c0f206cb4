import Foundation
import ModelFiles
import TestSupport
import XCTest
@testable import Inference

/// A folder's `generation_config.json`: its sampling becomes the defaults, its eos ids stop replies, and a
/// bad file is refused in one line naming the key.
final class GenerationConfigTests: XCTestCase {
    /// A copy of the tiny qwen2 folder with `generation` as its generation_config.json.
    private func folder(generation: String?) throws -> String {
        let source = TestPaths.fixture("hf-tiny-qwen2")
        let dir = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-gen-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: dir + "/" + name)
        }
        try generation?.write(toFile: dir + "/generation_config.json", atomically: false, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testSamplingAndStopsComeFromTheFile() throws {
        // Qwen3-0.6B's values.
        let qwen3 = try LoadedModel(path: try folder(generation: """
            {"bos_token_id": 1, "do_sample": true, "eos_token_id": [3, 5], "pad_token_id": 1,
             "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}
            """), threads: 1, contextSize: 64)
        XCTAssertEqual(qwen3.samplerDefaults.temperature, 0.6)
        XCTAssertEqual(qwen3.samplerDefaults.topP, 0.95)
        XCTAssertEqual(qwen3.samplerDefaults.topK, 20)
        XCTAssertEqual(qwen3.samplerDefaults.repetitionPenalty, SamplerSettings().repetitionPenalty, "not in the file: the default")
        XCTAssertTrue(qwen3.generator.stopTokens.isSuperset(of: [3, 5]))

        let greedy = try LoadedModel(path: try folder(generation: "{\"do_sample\": false, \"eos_token_id\": 7, \"repetition_penalty\": 1.1}"),
                                     threads: 1, contextSize: 64)
        XCTAssertEqual(greedy.samplerDefaults.temperature, 0, "do_sample false is greedy")
        XCTAssertEqual(greedy.samplerDefaults.repetitionPenalty, 1)
        XCTAssertTrue(greedy.generator.stopTokens.contains(7), "one id, not a list")

        let none = try LoadedModel(path: try folder(generation: nil), threads: 1, contextSize: 64)
        XCTAssertEqual(none.samplerDefaults, SamplerSettings())
        let fixture = try LoadedModel(path: TestPaths.fixture("hf-tiny-qwen2"), threads: 1, contextSize: 64)
        XCTAssertEqual(fixture.samplerDefaults, SamplerSettings(), "save_pretrained's file names no sampling")
    }

    func testABadGenerationConfigIsRefused() throws {
        for (text, field, problem) in [
            ("{\"temperature\": \"hot\"}", "temperature", "wrong type"),
            ("{\"temperature\": -1}", "temperature", "is -1.0; expected a number from 0 (greedy) to 5"),
            ("{\"top_k\": -3}", "top_k", "expected a whole number, 0 to disable"),
            ("{\"top_p\": 0}", "top_p", "expected"),
            ("{\"eos_token_id\": [151645]}", "eos_token_id", "not a token of the 403-token vocabulary"),
            ("{\"eos_token_id\": \"<|im_end|>\"}", "eos_token_id", "wrong type"),
            ("not json", "file", "not valid JSON"),
        ] {
            let dir = try folder(generation: text)
            XCTAssertThrowsError(try LoadedModel(path: dir, threads: 1, contextSize: 64), text) { error in
                guard let e = error as? ModelFileError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.path, dir + "/generation_config.json")
                XCTAssertEqual(e.field, field, text)
                XCTAssertTrue(e.problem.contains(problem), "\(text): '\(e.problem)' lacks '\(problem)'")
            }
        }
    }
}
