import ModelFiles
import TestSupport
import XCTest
@testable import Tokenizer

final class StreamingDecoderTests: XCTestCase {
    /// Emoji and CJK split over several byte-level tokens: the stream never shows a replacement
    /// character, and the pieces join to exactly the full decode.
    func testNeverEmitsHalfACharacter() throws {
        let file = try GGUFFile(path: TestPaths.fixture("tiny-qwen2-f32.gguf"))
        let tokenizer = try QwenTokenizer(gguf: file)
        for text in ["🦙 llama", "你好，世界", "👨‍👩‍👧‍👦 family", "naïve café", "mixed 🙂 text 中文 end"] {
            let ids = tokenizer.encode(text)
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            var pieces: [String] = []
            for id in ids { pieces.append(decoder.append(id)) }
            pieces.append(decoder.finish())
            XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") }, text)
            XCTAssertEqual(pieces.joined(), text)
        }
    }

    func testCompletePrefixLength() {
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x61, 0x62]), 2)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x61, 0xF0, 0x9F]), 1)   // 4-byte sequence, 2 present
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0xF0, 0x9F, 0xA6, 0x99]), 4)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0xE4, 0xBD]), 0)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0xFF]), 1)  // can never complete: emit (as U+FFFD)
        XCTAssertEqual(StreamingDecoder.completePrefixLength([0x80, 0x80]), 2)
    }

    func testFinishFlushesIncompleteBytesAsReplacement() throws {
        let tokenizer = try QwenTokenizer(gguf: GGUFFile(path: TestPaths.fixture("tiny-qwen2-f32.gguf")))
        // The byte token for 0xF0 alone: a lead byte with no continuation.
        guard let lead = tokenizer.id(of: String(ByteLevelAlphabet.scalarForByte[0xF0])) else { return XCTFail("no byte token") }
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.append(lead), "")
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
    }
}
