import Foundation
import ModelFiles
import TestSupport
import XCTest
@testable import Tokenizer

/// The tokenizer read from a Hugging Face `tokenizer.json` (what a model folder ships) against the HF
/// `tokenizers` goldens on the real Qwen vocabulary, and against the same vocabulary read from GGUF.
final class HuggingFaceTokenizerTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable { let text: String?; let ids: [Int32] }
        let cases: [Case]
        let special: [Case]
    }

    func testRealQwenTokenizerJSONMatchesHuggingFace() throws {
        guard let path = TestPaths.sharedTokenizerFile("tokenizer.json") else { throw XCTSkip(TestPaths.missingShared("tokenizer.json")) }
        let tokenizer = try QwenTokenizer(huggingFaceJSON: path, eosToken: "<|im_end|>")
        XCTAssertEqual(tokenizer.vocabularySize, 151_665, "151 643 BPE tokens and 22 added ones")
        XCTAssertEqual(tokenizer.eosID, tokenizer.imEndID)
        XCTAssertEqual(tokenizer.type(of: try XCTUnwrap(tokenizer.imStartID)), .control)
        let golden = try TestPaths.loadJSON(Golden.self, "qwen-tokenizer-golden.json")
        for c in golden.cases {
            if let text = c.text { XCTAssertEqual(tokenizer.encode(text), c.ids, text.debugDescription) }
        }
        for c in golden.special {
            if let text = c.text { XCTAssertEqual(tokenizer.encode(text, parseSpecial: true), c.ids, text.debugDescription) }
        }
    }

    /// The fixture folder's tokenizer.json and the GGUF file made from the same trained tokenizer agree
    /// on every token and on encoding.
    func testFixtureTokenizerJSONEqualsTheGGUFOne() throws {
        let json = try QwenTokenizer(huggingFaceJSON: TestPaths.fixture("hf-tiny-qwen2/tokenizer.json"))
        let gguf = try QwenTokenizer(gguf: GGUFFile(path: TestPaths.fixture("tiny-qwen2-f32.gguf")))
        XCTAssertEqual(json.vocabularySize, gguf.vocabularySize)
        XCTAssertEqual(json.tokenTypes, gguf.tokenTypes)
        for id in 0 ..< Int32(json.vocabularySize) { XCTAssertEqual(json.decode([id]), gguf.decode([id]), "token \(id)") }
        let text = "Hello, world! 你好，世界。 <|im_start|>user\nThe quick brown fox said it's fine.<|im_end|>"
        XCTAssertEqual(json.encode(text), gguf.encode(text))
        XCTAssertEqual(json.encode(text, parseSpecial: true), gguf.encode(text, parseSpecial: true))
    }

    func testBadTokenizerJSONIsRefused() throws {
        for (content, field, problem) in [
            ("[1]", "model", "not a tokenizer.json"),
            (#"{"model":{"type":"Unigram","vocab":{}}}"#, "model.type", "'Unigram' is not supported"),
            (#"{"model":{"type":"BPE","vocab":{"a":0,"b":0}}}"#, "model.vocab", "used twice"),
            (#"{"model":{"type":"BPE","vocab":{"a":0,"b":2}}}"#, "model.vocab", "not contiguous"),
            (#"{"model":{"type":"BPE","vocab":{"a":0},"merges":[1]}}"#, "model.merges[0]", "neither"),
            (#"{"model":{"type":"BPE","vocab":{"a":0}},"added_tokens":[{"id":0,"content":"<x>"}]}"#, "added_tokens[0]", "already"),
            (#"{"model":{"type":"BPE","vocab":{"a":0}}}"#, "model.vocab", "no token for byte"),
            (#"{"model":{"type":"BPE","vocab":{"a":"#, "file", "not valid JSON"),
        ] {
            let path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-tok-\(UUID().uuidString).json").path
            try content.write(toFile: path, atomically: false, encoding: .utf8)
            XCTAssertThrowsError(try QwenTokenizer(huggingFaceJSON: path)) { error in
                guard let e = error as? ModelFileError else { return XCTFail("\(error)") }
                XCTAssertTrue(e.field.contains(field), "field '\(e.field)' lacks '\(field)'")
                XCTAssertTrue(e.problem.contains(problem), "problem '\(e.problem)' lacks '\(problem)'")
            }
        }
    }
}
