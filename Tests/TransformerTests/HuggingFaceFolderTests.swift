import Foundation
import Kernels
import ModelFiles
import TestSupport
import XCTest
@testable import Transformer

/// Hugging Face folders (`save_pretrained`, F32 safetensors) of the tiny fixture models: their weights
/// are those of `tiny-{arch}-f32.gguf`, so the `transformers` references of those files must hold for
/// the folders, with the same tolerance as `ReferenceParityTests` (1e-3 on every logit of 32 greedy
/// steps, both sides fp32).
final class HuggingFaceFolderTests: XCTestCase {
    func testFoldersMatchTransformers() throws {
        let references = try ReferenceFixtures.load().models
        for (arch, tied) in [("qwen2", true), ("qwen3", false)] {
            let reference = try XCTUnwrap(references.first { $0.file == "tiny-\(arch)-f32.gguf" })
            let (weights, config) = try HuggingFaceWeights.open(directory: TestPaths.fixture("hf-tiny-\(arch)"))
            let gguf = try ModelConfig(gguf: GGUFFile(path: TestPaths.fixture(reference.file)))
            var expectedConfig = gguf
            expectedConfig.name = "hf-tiny-\(arch)"
            XCTAssertEqual(config, expectedConfig, "config.json gives the GGUF file's shape")
            let model = try QwenModel(source: weights, config: config, pool: ThreadPool(threads: 2), maxContext: 128, maxBatch: 8,
                                      cachePrecision: .f32)
            XCTAssertEqual(model.weights.tiedOutput, tied)
            let cache = model.makeCache()
            let expected = try reference.logits()
            let v = reference.vocab
            try model.forward(reference.prompt, cache: cache)
            var maxDiff: Float = 0
            for step in 0 ..< reference.logits_steps {
                for i in 0 ..< v { maxDiff = max(maxDiff, abs(model.logits[i] - expected[step * v + i])) }
                let argmax = (0 ..< v).max { model.logits[$0] < model.logits[$1] } ?? -1
                XCTAssertEqual(Int32(argmax), reference.greedy[step], "\(arch) step \(step)")
                try model.forward([Int32(argmax)], cache: cache)
            }
            XCTAssertLessThanOrEqual(maxDiff, 1e-3, arch)
        }
    }

    /// `--quant Q8_0` at load writes the same blocks as gguf-py did for `tiny-{arch}-q8_0.gguf` (the
    /// quantiser follows it operation for operation), so both run the same arithmetic: logits equal
    /// bit for bit, tokens equal.
    func testQuantisedAtLoadEqualsTheQuantisedGGUF() throws {
        for arch in ["qwen2", "qwen3"] {
            let pool = ThreadPool(threads: 2)
            let (weights, config) = try HuggingFaceWeights.open(directory: TestPaths.fixture("hf-tiny-\(arch)"))
            var fractions: [Double] = []
            try weights.quantize(to: .every(.q8_0), pool: pool) { fractions.append($0) }
            XCTAssertEqual(fractions.last, 1)
            XCTAssertEqual(weights.tensorView(named: "blk.0.attn_q.weight")?.type, .q8_0)
            XCTAssertEqual(weights.tensorView(named: "blk.0.attn_norm.weight")?.type, .f32, "vectors stay Floats")
            let folder = try QwenModel(source: weights, config: config, pool: pool, maxContext: 64, maxBatch: 8)
            let file = try QwenModel(file: GGUFFile(path: TestPaths.fixture("tiny-\(arch)-q8_0.gguf")), pool: pool, maxContext: 64, maxBatch: 8)
            let prompt: [Int32] = [10, 20, 30, 40, 50, 60, 70, 80, 90]
            let (a, b) = (folder.makeCache(), file.makeCache())
            try folder.forward(prompt, cache: a)
            try file.forward(prompt, cache: b)
            let v = config.vocabularySize
            XCTAssertEqual(Array(UnsafeBufferPointer(start: folder.logits, count: v)), Array(UnsafeBufferPointer(start: file.logits, count: v)), arch)
        }
    }

    func testEngineNamesMapToHuggingFaceNames() {
        XCTAssertEqual(HuggingFaceWeights.huggingFaceName("blk.12.attn_q.bias"), "model.layers.12.self_attn.q_proj.bias")
        XCTAssertEqual(HuggingFaceWeights.huggingFaceName("blk.0.ffn_down.weight"), "model.layers.0.mlp.down_proj.weight")
        XCTAssertEqual(HuggingFaceWeights.huggingFaceName("blk.1.attn_k_norm.weight"), "model.layers.1.self_attn.k_norm.weight")
        XCTAssertEqual(HuggingFaceWeights.huggingFaceName("output.weight"), "lm_head.weight")
        XCTAssertNil(HuggingFaceWeights.huggingFaceName("blk.x.attn_q.weight"))
        XCTAssertNil(HuggingFaceWeights.huggingFaceName("blk.1.unknown.weight"))
    }

    /// A folder whose config and weights disagree, or whose config is unusable, is refused in one line.
    func testBadFoldersAreRefused() throws {
        let source = TestPaths.fixture("hf-tiny-qwen3")
        func folder(config: String, keepHead: Bool = true) throws -> String {
            let dir = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-hf-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try config.write(toFile: dir + "/config.json", atomically: false, encoding: .utf8)
            try FileManager.default.copyItem(atPath: source + "/model.safetensors", toPath: dir + "/model.safetensors")
            return dir
        }
        let good = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
        for (config, field, problem) in [
            (good.replacingOccurrences(of: "\"qwen3\"", with: "\"llama\""), "model_type", "not supported"),
            (good.replacingOccurrences(of: "\"num_key_value_heads\": 2", with: "\"num_key_value_heads\": 3"), "num_key_value_heads", "not a multiple"),
            (good.replacingOccurrences(of: "\"head_dim\": 32", with: "\"head_dim\": 1024"), "head_dim", "larger than"),
            (good.replacingOccurrences(of: "\"rope_type\": \"default\"", with: "\"rope_type\": \"yarn\""), "rope_parameters", "'yarn' is not supported"),
            (good.replacingOccurrences(of: "\"hidden_size\": 64,", with: ""), "hidden_size", "missing"),
            (good.replacingOccurrences(of: "\"vocab_size\": 403", with: "\"vocab_size\": \"many\""), "vocab_size", "wrong type"),
            (good.replacingOccurrences(of: "\"hidden_size\": 64", with: "\"hidden_size\": 96"), "model.embed_tokens.weight", "has shape"),
        ] {
            let dir = try folder(config: config)
            XCTAssertThrowsError(try { let (w, c) = try HuggingFaceWeights.open(directory: dir); _ = try ModelWeights(source: w, config: c) }()) { error in
                guard let e = error as? ModelFileError else { return XCTFail("\(error)") }
                XCTAssertTrue(e.field.contains(field), "field '\(e.field)' lacks '\(field)'")
                XCTAssertTrue(e.problem.contains(problem), "problem '\(e.problem)' lacks '\(problem)'")
            }
        }
        // An untied config with no lm_head: the head must not silently become the embedding.
        let untied = try folder(config: good)
        try FileManager.default.removeItem(atPath: untied + "/model.safetensors")
        try FileManager.default.copyItem(atPath: TestPaths.fixture("hf-tiny-qwen2/model.safetensors"), toPath: untied + "/model.safetensors")
        XCTAssertThrowsError(try HuggingFaceWeights.open(directory: untied)) { error in
            XCTAssertTrue("\(error)".contains("lm_head.weight"), "\(error)")
        }
        // A FIFO as config.json is named as one (it used to read as a permission problem).
        let fifo = try folder(config: good)
        defer { try? FileManager.default.removeItem(atPath: fifo) }
        try FileManager.default.removeItem(atPath: fifo + "/config.json")
        XCTAssertEqual(mkfifo(fifo + "/config.json", 0o600), 0)
        XCTAssertThrowsError(try HuggingFaceWeights.open(directory: fifo)) { error in
            XCTAssertEqual((error as? ModelFileError)?.problem, "is a FIFO, not a regular file", "\(error)")
        }
    }
}
