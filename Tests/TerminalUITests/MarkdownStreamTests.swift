import XCTest
@testable import Chat
@testable import TerminalUI

final class MarkdownStreamTests: XCTestCase {
    private func styles(_ line: MarkdownStream.Line) -> [String] {
        line.runs.map { "\($0.style):\($0.text)" }
    }

    func testInlineBoldAndCode() {
        let lines = MarkdownStream("Use **bold** and `x = 1` here\n").lines
        XCTAssertEqual(styles(lines[0]), ["body:Use ", "bold:bold", "body: and ", "code:x = 1", "body: here"])
    }

    func testUnbalancedMarkersStayText() {
        XCTAssertEqual(MarkdownStream("2 ** 3 and a ` tick").lines[0].runs.map(\.text).joined(), "2 ** 3 and a ` tick")
        XCTAssertEqual(MarkdownStream("``a ` b``").lines[0].runs, [StyledRun("a ` b", .code)], "double backticks hold a single one")
    }

    func testBlocks() {
        let text = "# Title\n- item one\n  * nested\n> quoted\n```swift\nlet x = **1**\n\n```\nafter\n"
        let lines = MarkdownStream(text).lines
        XCTAssertEqual(styles(lines[0]), ["heading:Title"])
        XCTAssertEqual(styles(lines[1]), ["dim:• ", "body:item one"])
        XCTAssertEqual(lines[1].hangingIndent, 2)
        XCTAssertEqual(styles(lines[2]), ["dim:  • ", "body:nested"])
        XCTAssertEqual(styles(lines[3]), ["dim:│ ", "dim:quoted"])
        XCTAssertEqual(lines[4].kind, .fence)
        XCTAssertEqual(lines[5].kind, .code)
        XCTAssertEqual(styles(lines[5]), ["codeBlock:let x = **1**"], "code is verbatim: no markdown inside")
        XCTAssertEqual(lines[6].kind, .code, "blank lines inside a block stay in it")
        XCTAssertEqual(lines[7].kind, .fence)
        XCTAssertEqual(styles(lines[8]), ["body:after"])
    }

    /// Numbered items keep their number and hang continuation lines under their text, like bullets;
    /// a number that is not an item marker stays text.
    func testNumberedItemsHangTheirText() {
        let lines = MarkdownStream("1. first step\n12) twelfth\n   3. nested\n2024. was a year\n3.5 is a number\n").lines
        XCTAssertEqual(styles(lines[0]), ["dim:1. ", "body:first step"])
        XCTAssertEqual(lines[0].hangingIndent, 3)
        XCTAssertEqual(styles(lines[1]), ["dim:12) ", "body:twelfth"])
        XCTAssertEqual(lines[1].hangingIndent, 4)
        XCTAssertEqual(lines[2].hangingIndent, 6)
        XCTAssertEqual(styles(lines[3]), ["dim:2024. ", "body:was a year"], "a year at the start of a line is an item too, as in markdown")
        XCTAssertEqual(styles(lines[4]), ["body:3.5 is a number"])
        var transcript = TranscriptHarness()
        transcript.reply("1. the first step of a long list item that wraps")
        let wrapped = transcript.lines(width: 24).map(\.text).filter { !$0.isEmpty }.dropFirst()
        XCTAssertEqual(Array(wrapped), ["  1. the first step of a", "     long list item that", "     wraps"])
    }

    /// Tables: rows and the rule are recognised, cells keep inline markdown, and the layout aligns the
    /// columns (a rule row drawn as ─┼─), wrapping cells inside their columns when the table is too wide.
    func testTablesAreAlignedColumns() {
        let lines = MarkdownStream("| name | value |\n|---|:--:|\n| a | **two** |\n| longer name | 3 |\n").lines
        XCTAssertEqual(lines.prefix(4).map(\.kind), [.tableRow, .tableRule, .tableRow, .tableRow])
        XCTAssertEqual(lines[2].cells.map { $0.map { "\($0.style):\($0.text)" } }, [["body:a"], ["bold:two"]])
        var transcript = TranscriptHarness()
        transcript.reply("| name | value |\n|---|:--:|\n| a | **two** |\n| longer name | 3 |")
        XCTAssertEqual(transcript.lines(width: 40).map(\.text).dropFirst(), [
            "  name        │ value",
            "  ────────────┼──────",
            "  a           │ two",
            "  longer name │ 3",
        ])
        // Too wide for 20 columns: the wide column gives way and wraps inside itself.
        var narrow = TranscriptHarness()
        narrow.reply("| id | description |\n|--|--|\n| 1 | a fairly long description of it |")
        let rows = narrow.lines(width: 20).map(\.text).dropFirst()
        for row in rows { XCTAssertLessThanOrEqual(DisplayWidth.of(row), 20, row) }
        XCTAssertEqual(rows.first, "  id │ description")
        XCTAssertTrue(rows.contains("  1  │ a fairly long"), "\(Array(rows))")
        XCTAssertEqual(TableLayout.fit([2, 30, 4], into: 20), [2, 14, 4])
        XCTAssertEqual(TableLayout.fit([3, 4], into: 20), [3, 4])
    }

    func testBlankLineRunsCollapseOutsideCode() {
        let lines = MarkdownStream("\n\n\na\n\n\n\nb\n```\n\n\n```\n").completed
        XCTAssertEqual(lines.map { $0.runs.map(\.text).joined() }, ["a", "", "b", "```", "", "", "```"])
    }

    func testTildeFenceIsNotClosedByBackticks() {
        let lines = MarkdownStream("~~~\n```\n~~~\n").lines
        XCTAssertEqual(lines.map(\.kind), [.fence, .code, .fence, .text])
    }

    /// Streaming in any chunking gives the same lines as the whole text at once, and a completed line is
    /// never re-parsed (its value never changes as more text arrives).
    func testIncrementalEqualsWholeAndCompletedLinesAreFinal() {
        let text = "Intro **bold** `c`\n```py\nprint('*not bold*')\n```\n- a\n- **b**\nend `x`"
        let whole = MarkdownStream(text).lines
        var generator = SystemRandomNumberGenerator()
        for _ in 0 ..< 50 {
            var stream = MarkdownStream()
            var rest = Substring(text)
            var frozen: [MarkdownStream.Line] = []
            while !rest.isEmpty {
                let n = Int.random(in: 1 ... 4, using: &generator)
                stream.append(String(rest.prefix(n)))
                rest = rest.dropFirst(n)
                XCTAssertEqual(Array(stream.completed.prefix(frozen.count)), frozen)
                frozen = stream.completed
            }
            XCTAssertEqual(stream.lines, whole)
        }
    }

    func testCodeBlocks() {
        XCTAssertEqual(MarkdownStream.codeBlocks(in: "a\n```\nx\ny\n```\nb\n```sh\nls\n```"), ["x\ny", "ls"])
        XCTAssertEqual(MarkdownStream.codeBlocks(in: "```\nunclosed"), ["unclosed"])
        XCTAssertEqual(MarkdownStream.codeBlocks(in: "no code"), [])
    }
}

final class StyledWrapTests: XCTestCase {
    func testStylesSurviveWrappingAndNothingIsLost() {
        let runs = [StyledRun("plain words then ", .body), StyledRun("bold words here", .bold), StyledRun(" and code", .code)]
        for width in 4 ... 30 {
            let lines = TextWrapper.wrap(runs, width: width)
            for line in lines { XCTAssertLessThanOrEqual(DisplayWidth.of(line.map(\.text).joined()), width) }
            XCTAssertEqual(lines.flatMap { $0 }.map(\.text).joined().filter { $0 != " " }, runs.map(\.text).joined().filter { $0 != " " })
            let bold = lines.flatMap { $0 }.filter { $0.style == .bold }.map(\.text).joined().filter { $0 != " " }
            XCTAssertEqual(bold, "boldwordshere", "width \(width)")
        }
    }

    func testHangingIndentAndHardWrap() {
        let lines = TextWrapper.wrap([StyledRun("• one two three four", .body)], width: 10, indent: 2)
        XCTAssertEqual(lines.map { $0.map(\.text).joined() }, ["• one two", "three", "four"])
        for line in lines.dropFirst() { XCTAssertLessThanOrEqual(DisplayWidth.of(line.map(\.text).joined()), 8) }
        let code = TextWrapper.wrap([StyledRun("a  b  c  d", .codeBlock)], width: 4, hard: true)
        XCTAssertEqual(code.map { $0.map(\.text).joined() }, ["a  b", "  c ", " d"], "spaces in code are kept")
    }
}

final class TranscriptLayoutTests: XCTestCase {
    /// The streaming layout (completed lines cached, last line re-wrapped) equals a fresh layout.
    func testStreamingLayoutEqualsFreshLayout() {
        let reply = "Here is **some** text that wraps.\n```\nlet a = 1\n```\n- item with `code` in it\n| k | v |\n|---|---|\n| a | longer value |\nlast line"
        var streamed = TranscriptHarness()
        streamed.user("question")
        let entry = streamed.reply(streaming: true)
        for chunk in reply.map(String.init) {
            streamed.stream(chunk, into: entry)
            _ = streamed.lines(width: 24)
        }
        streamed.finish(entry)
        var fresh = TranscriptHarness()
        fresh.user("question")
        fresh.reply(reply)
        XCTAssertEqual(streamed.lines(width: 24), fresh.lines(width: 24))
        XCTAssertEqual(streamed.lines(width: 50), fresh.lines(width: 50), "after a resize too")
        XCTAssertTrue(fresh.lines(width: 24).contains { $0.fill == .codeBlock && $0.text == "  let a = 1" })
    }

    /// Messages the conversation no longer has (/edit, /regen) leave the screen; notices stay.
    func testRemovedMessagesLeaveTheScreen() {
        var t = TranscriptHarness()
        t.notice("hello")
        let q = t.user("q")
        let a = t.reply("a")
        t.notice("later")
        _ = t.lines(width: 40)
        t.remove([q, a])
        XCTAssertEqual(t.lines(width: 40).map(\.text), ["hello", "", "later"])
    }

    /// A reply whose text is replaced (regenerated) is drawn afresh, not appended to what was drawn.
    func testAReplacedReplyIsDrawnAfresh() {
        var t = TranscriptHarness()
        let reply = t.reply("old answer that was long", streaming: true)
        _ = t.lines(width: 40)
        t.conversation.update(reply) { $0.replaceText("", status: .streaming) }
        t.stream("new answer, longer than the old one was", into: reply)
        XCTAssertEqual(t.lines(width: 60).map(\.text), ["qwen …", "  new answer, longer than the old one was"])
    }
}
