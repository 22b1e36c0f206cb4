import Foundation
import ModelFiles
import TestSupport
import XCTest
@testable import Tokenizer

/// The tokenizer on the real Qwen vocabulary against Hugging Face `tokenizers` (goldens written by
/// scripts/make-fixtures.py from ../shared/qwen-tokenizer/tokenizer.json).
final class QwenGoldenTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable { let text: String?; let hex: String?; let ids: [Int32] }
        struct Run: Decodable { let unit: String; let count: Int; let n_ids: Int; let fnv1a64: String; let head: [Int32] }
        let cases: [Case]
        let special: [Case]
        let runs: [Run]
    }

    static let tokenizer: QwenTokenizer? = {
        guard let path = TestPaths.sharedTokenizerFile("ggml-vocab-qwen2.gguf") else { return nil }
        return try? QwenTokenizer(gguf: GGUFFile(path: path))
    }()

    private func realTokenizer() throws -> QwenTokenizer {
        guard let t = Self.tokenizer else { throw XCTSkip(TestPaths.missingShared("ggml-vocab-qwen2.gguf")) }
        return t
    }

    private func golden() throws -> Golden { try TestPaths.loadJSON(Golden.self, "qwen-tokenizer-golden.json") }

    private static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i ..< j], radix: 16) ?? 0)
            i = j
        }
        return out
    }

    func testStringsMatchHuggingFace() throws {
        let tokenizer = try realTokenizer()
        let cases = try golden().cases
        XCTAssertGreaterThanOrEqual(cases.filter { $0.text != nil }.count, 200)
        for c in cases {
            if let text = c.text {
                XCTAssertEqual(tokenizer.encode(text), c.ids, "text \(text.debugDescription)")
            } else if let hex = c.hex {
                XCTAssertEqual(tokenizer.encode(bytes: Self.bytes(hex: hex)), c.ids, "invalid UTF-8 \(hex)")
            }
        }
    }

    func testSpecialTokenParsingMatchesHuggingFace() throws {
        let tokenizer = try realTokenizer()
        for c in try golden().special {
            let text = try XCTUnwrap(c.text)
            XCTAssertEqual(tokenizer.encode(text, parseSpecial: true), c.ids, text.debugDescription)
            // Without special parsing the same text never yields a control token.
            XCTAssertFalse(tokenizer.encode(text).contains { tokenizer.type(of: $0) == .control }, text.debugDescription)
        }
    }

    /// 100 KB single-character runs: compared by count, FNV-1a hash of the ids and the first 16 ids
    /// (the full id lists would be megabytes). The BPE is heap-based, so these take milliseconds.
    func testLongRunsMatchHuggingFace() throws {
        let tokenizer = try realTokenizer()
        for run in try golden().runs {
            let ids = tokenizer.encode(String(repeating: run.unit, count: run.count))
            XCTAssertEqual(ids.count, run.n_ids, "run of \(run.unit.debugDescription)")
            XCTAssertEqual(Array(ids.prefix(16)), run.head, "run of \(run.unit.debugDescription)")
            XCTAssertEqual(Self.fnv1a64(ids), run.fnv1a64, "run of \(run.unit.debugDescription)")
        }
    }

    func testDecodeOfEncodeIsIdentityOnNormalisedText() throws {
        let tokenizer = try realTokenizer()
        for c in try golden().cases {
            guard let text = c.text else { continue }
            // Encoding normalises to NFC (as HF does), so the round trip returns the NFC form.
            let normalised = text.precomposedStringWithCanonicalMapping
            XCTAssertEqual(Array(tokenizer.decode(tokenizer.encode(text)).utf8), Array(normalised.utf8), text.debugDescription)
        }
    }

    func testEveryIdDecodes() throws {
        let tokenizer = try realTokenizer()
        for id in 0 ..< Int32(tokenizer.vocabularySize) {
            let bytes = tokenizer.bytes(of: id)
            XCTAssertFalse(bytes.isEmpty, "id \(id) decodes to nothing")
            // A normal token's bytes, encoded back through the byte-level alphabet, give the token itself.
            if tokenizer.type(of: id) == .normal, bytes.count < 16, let text = String(validating: bytes, as: UTF8.self),
               text.precomposedStringWithCanonicalMapping == text, !text.contains("<|") {
                XCTAssertTrue(tokenizer.encode(text).count >= 1)
            }
        }
        XCTAssertEqual(tokenizer.decode([151644, 151645, 151643]), "<|im_start|><|im_end|><|endoftext|>")
        XCTAssertTrue(tokenizer.bytes(of: -1).isEmpty)
        XCTAssertTrue(tokenizer.bytes(of: Int32(tokenizer.vocabularySize)).isEmpty)
    }

    static func fnv1a64(_ ids: [Int32]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for id in ids {
            withUnsafeBytes(of: id.littleEndian) { raw in
                for byte in raw {
                    hash ^= UInt64(byte)
                    hash = hash &* 0x100_0000_01b3
                }
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
