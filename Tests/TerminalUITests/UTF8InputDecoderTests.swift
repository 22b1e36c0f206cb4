import XCTest
@testable import TerminalUI

/// Terminal input bytes to characters: invalid UTF-8 becomes U+FFFD where it stands, as Swift's own
/// decoder (which follows the Unicode standard's recommendation) makes it, and nothing else is lost.
final class UTF8InputDecoderTests: XCTestCase {
    private func decode(_ bytes: [UInt8]) -> String {
        var decoder = UTF8InputDecoder()
        var out = String.UnicodeScalarView()
        for byte in bytes { out.append(contentsOf: decoder.feed(byte)) }
        out.append(contentsOf: decoder.flush())
        return String(out)
    }

    /// The paste that used to lose everything after its first invalid byte.
    func testAPasteWithInvalidBytesKeepsTheRest() {
        let bytes: [UInt8] = Array("hello ".utf8) + [0xFF, 0xFE, 0xC3] + Array(" world ".utf8) + [0xE2, 0x82] + Array(" end".utf8)
        XCTAssertEqual(decode(bytes), "hello \u{FFFD}\u{FFFD}\u{FFFD} world \u{FFFD} end")
        XCTAssertEqual(decode(Array("日本語 🙂 é\tz".utf8)), "日本語 🙂 é\tz")
    }

    /// Any bytes at all: the same characters as `String(decoding:as:)` (surrogates, overlongs, values past
    /// U+10FFFF, truncated sequences and stray continuation bytes included).
    func testRandomBytesDecodeAsSwiftDoes() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let interesting: [UInt8] = [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90, 0x41]
        for trial in 0 ..< 5000 {
            let bytes = (0 ..< Int(next() % 12)).map { _ in next() % 3 == 0 ? interesting[Int(next()) % interesting.count] : next() }
            XCTAssertEqual(decode(bytes), String(decoding: bytes, as: UTF8.self), "trial \(trial): \(bytes)")
        }
    }
}
