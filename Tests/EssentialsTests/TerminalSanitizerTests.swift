import XCTest
@testable import Essentials

final class TerminalSanitizerTests: XCTestCase {
    func testEscapeSequencesBecomeVisible() {
        XCTAssertEqual(TerminalSanitizer.sanitize("\u{1B}[31mred\u{1B}[0m"), "␛[31mred␛[0m")
        XCTAssertEqual(TerminalSanitizer.sanitize("bell\u{07}"), "bell␇")
        XCTAssertEqual(TerminalSanitizer.sanitize("c1\u{9B}31m"), "c1\u{FFFD}31m")
        XCTAssertEqual(TerminalSanitizer.sanitize("del\u{7F}"), "del\u{FFFD}")
        XCTAssertEqual(TerminalSanitizer.sanitize("bidi\u{202E}txet"), "bidi\u{FFFD}txet")
    }

    func testOrdinaryTextIsUntouched() {
        let text = "line one\n\tindented 你好 🦙 café"
        XCTAssertEqual(TerminalSanitizer.sanitize(text), text)
        XCTAssertEqual(TerminalSanitizer.sanitize("a\nb", keepNewlines: false), "a␊b")
        XCTAssertEqual(TerminalSanitizer.sanitize("a\r\nb"), "a␍\nb")
    }
}
