import Foundation
import XCTest
@testable import TerminalUI

final class SlashCommandTests: XCTestCase {
    func testParsing() {
        XCTAssertNil(SlashCommand.parse("hello"))
        XCTAssertNil(SlashCommand.parse("//not a command"), "// sends a literal slash")
        XCTAssertEqual(SlashCommand.parse("/help"), .help)
        XCTAssertEqual(SlashCommand.parse("/CLEAR"), .clear)
        XCTAssertEqual(SlashCommand.parse("/system"), .system(nil))
        XCTAssertEqual(SlashCommand.parse("/system default"), .system(.some(nil)))
        XCTAssertEqual(SlashCommand.parse("/system  You are terse.\nVery."), .system(.some("You are terse.\nVery.")))
        XCTAssertEqual(SlashCommand.parse("/regen"), .regenerate)
        XCTAssertEqual(SlashCommand.parse("/edit"), .edit)
        XCTAssertEqual(SlashCommand.parse("/save"), .save(path: nil))
        XCTAssertEqual(SlashCommand.parse("/save ~/chat log.md"), .save(path: "~/chat log.md"))
        XCTAssertEqual(SlashCommand.parse("/copy"), .copy(.reply(1)))
        XCTAssertEqual(SlashCommand.parse("/copy 3"), .copy(.reply(3)))
        XCTAssertEqual(SlashCommand.parse("/copy code"), .copy(.code))
        XCTAssertEqual(SlashCommand.parse("/theme"), .theme(nil))
        XCTAssertEqual(SlashCommand.parse("/theme light"), .theme("light"))
        XCTAssertEqual(SlashCommand.parse("/stats"), .stats)
        XCTAssertEqual(SlashCommand.parse("/model"), .model(nil))
        XCTAssertEqual(SlashCommand.parse("/model ~/models/qwen.gguf"), .model("~/models/qwen.gguf"))
        XCTAssertEqual(SlashCommand.parse("/mouse"), .mouse)
        XCTAssertEqual(SlashCommand.parse("/think"), .think(nil))
        XCTAssertEqual(SlashCommand.parse("/think OFF"), .think(.off))
        XCTAssertEqual(SlashCommand.parse("/think show"), .think(.show))
        XCTAssertEqual(SlashCommand.parse("/think maybe"), .invalid("/think takes on, off, show or hide"))
        XCTAssertEqual(SlashCommand.parse("/quit"), .quit)
        XCTAssertEqual(SlashCommand.parse("/frobnicate now"), .unknown("/frobnicate"))
        XCTAssertEqual(SlashCommand.parse("/continue"), .continueReply)
        XCTAssertEqual(SlashCommand.parse("/sessions"), .sessions)
        XCTAssertEqual(SlashCommand.parse("/load 2"), .load("2"))
        XCTAssertEqual(SlashCommand.parse("/rename my project chat"), .rename("my project chat"))
        XCTAssertEqual(SlashCommand.parse("/delete work"), .delete("work"))
        XCTAssertEqual(SlashCommand.parse("/set"), .set(nil))
        XCTAssertEqual(SlashCommand.parse("/set  temp   0.2"), .set(.init(key: "temp", value: "0.2")))
        XCTAssertEqual(SlashCommand.parse("/set temp"), .invalid("/set takes a setting and a value, e.g. /set temp 0.2 (/set alone lists them)"))
    }

    /// `/set` checks each value before the engine sees it, takes ollama's names too, and says what it set.
    func testShowParses() {
        XCTAssertEqual(SlashCommand.parse("/show"), .show)
    }

    func testBadArgumentsSayWhatIsExpected() {
        XCTAssertEqual(SlashCommand.parse("/copy 0"), .invalid("/copy takes a reply number (1 = last) or `code`"))
        XCTAssertEqual(SlashCommand.parse("/copy last"), .invalid("/copy takes a reply number (1 = last) or `code`"))
        XCTAssertEqual(SlashCommand.parse("/clear everything"), .invalid("/clear takes no argument"))
    }

    /// Every command in the help parses to itself (help and parser cannot drift apart).
    func testHelpListsWhatParses() {
        for (usage, _) in SlashCommand.summary {
            let name = String(usage.prefix { $0 != " " })
            // "/load N|NAME": the argument is required, so the command is tried with one; "/copy [N|code]"
            // or no argument: it must parse alone.
            let required = usage.count > name.count && !usage.dropFirst(name.count + 1).hasPrefix("[")
            guard let command = SlashCommand.parse(required ? name + " 1" : name) else { return XCTFail(usage) }
            if case .unknown = command { XCTFail("\(usage) is in the help but does not parse") }
            if case .invalid = command { XCTFail("\(usage): the help and the parser disagree about its argument") }
            if required, case .invalid = SlashCommand.parse(name) ?? .help {} else if required {
                XCTFail("\(usage) parses without the argument the help calls required")
            }
        }
    }
}

final class ClipboardTests: XCTestCase {
    func testOSC52AndTmuxPassthrough() {
        XCTAssertEqual(Clipboard.sequence(copying: "hi ✓", insideTmux: false), "\u{1B}]52;c;aGkg4pyT\u{07}")
        let tmux = Clipboard.sequence(copying: "hi", insideTmux: true)
        XCTAssertTrue(tmux.hasPrefix("\u{1B}]52;c;aGk=\u{07}"))
        XCTAssertTrue(tmux.hasSuffix("\u{1B}Ptmux;\u{1B}\u{1B}]52;c;aGk=\u{07}\u{1B}\\"), "escapes doubled inside the passthrough")
    }
}

final class TranscriptViewportTests: XCTestCase {
    func testFollowsTheBottomUntilScrolled() {
        var v = TranscriptViewport()
        XCTAssertEqual(v.visibleRange(lineCount: 100, entryStarts: [0], height: 10, width: 80), 90 ..< 100)
        XCTAssertEqual(v.visibleRange(lineCount: 120, entryStarts: [0], height: 10, width: 80), 110 ..< 120)
        v.scroll(by: 15)
        XCTAssertEqual(v.visibleRange(lineCount: 120, entryStarts: [0], height: 10, width: 80), 95 ..< 105)
        XCTAssertEqual(v.visibleRange(lineCount: 130, entryStarts: [0], height: 10, width: 80), 95 ..< 105,
                       "new text below does not move what is being read")
        v.scroll(by: 1000)
        XCTAssertEqual(v.visibleRange(lineCount: 130, entryStarts: [0], height: 10, width: 80), 0 ..< 10, "clamped at the top")
        v.scroll(by: -2000)
        XCTAssertTrue(v.isFollowing)
        XCTAssertEqual(v.visibleRange(lineCount: 5, entryStarts: [0], height: 10, width: 80), 0 ..< 5)
    }

    /// A resize re-wraps every message; the message at the top of the screen stays at the top.
    func testResizeKeepsTheMessageAtTheTop() {
        var t = TranscriptHarness()
        for i in 0 ..< 30 {
            let text = "message \(i) " + String(repeating: "word ", count: 30)
            if i % 2 == 0 { t.user(text) } else { t.reply(text) }
        }
        var v = TranscriptViewport()
        var layout = t.transcript.layout(t.conversation, width: 80)
        _ = v.visibleRange(lineCount: layout.lines.count, entryStarts: layout.itemStarts, height: 20, width: 80)
        v.scroll(by: 60)
        var range = v.visibleRange(lineCount: layout.lines.count, entryStarts: layout.itemStarts, height: 20, width: 80)
        let topMessage = layout.itemStarts.lastIndex { $0 <= range.lowerBound }
        layout = t.transcript.layout(t.conversation, width: 40)
        range = v.visibleRange(lineCount: layout.lines.count, entryStarts: layout.itemStarts, height: 20, width: 40)
        XCTAssertEqual(layout.itemStarts.lastIndex { $0 <= range.lowerBound }, topMessage)
        XCTAssertFalse(v.isFollowing)
    }
}
