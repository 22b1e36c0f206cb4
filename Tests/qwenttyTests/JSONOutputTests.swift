import Foundation
import XCTest
@testable import qwentty

final class JSONOutputTests: XCTestCase {
    /// Characters a terminal acts on leave as escapes and come back as the same text; non-finite numbers
    /// are null; the line is valid JSON.
    func testTerminalControlsAreEscapedAndNonFiniteNumbersAreNull() throws {
        struct Line: Encodable { let text: String; let values: [JSONNumber] }
        let text = "csi\u{9B}31m bidi\u{202E}txt esc\u{1B}[2J del\u{7F} 中文 /path"
        let line = try JSONOutput.line(Line(text: text, values: [JSONNumber(Double.nan), JSONNumber(-Float.infinity), JSONNumber(Float(-0.1))]))
        XCTAssertTrue(line.hasSuffix("\n"))
        XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F ... 0x9F).contains($0.value) || $0 == "\u{202E}" },
                       line.debugDescription)
        XCTAssertTrue(line.contains("\\u009b") && line.contains("\\u202e") && line.contains("中文 /path"), line)
        XCTAssertTrue(line.contains("[null,null,-0.1]"), line)
        let decoded = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(decoded["text"] as? String, text, "the escapes read back as the same text")
    }
}
