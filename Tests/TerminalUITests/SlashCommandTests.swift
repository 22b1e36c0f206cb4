import Foundation
import Inference
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
    func testRuntimeSettings() throws {
        var settings = RuntimeSettings(sampler: SamplerSettings(), maxReplyTokens: 512)
        XCTAssertTrue(try settings.set("temp", "0.2").hasPrefix("Set temp = 0.2."))
        XCTAssertEqual(settings.sampler.temperature, 0.2)
        _ = try settings.set("num_predict", "64")
        XCTAssertEqual(settings.maxReplyTokens, 64)
        _ = try settings.set("TOP_K", "5")
        XCTAssertEqual(settings.sampler.topK, 5)
        _ = try settings.set("repeat_penalty", "1")
        XCTAssertEqual(settings.sampler.repetitionPenalty, 1)
        XCTAssertTrue(settings.summary.contains("temp 0.2 · top_k 5 ·") && settings.summary.contains("max_tokens 64"), settings.summary)
        let before = settings
        for (key, value) in [("temp", "nan"), ("temp", "-1"), ("top_p", "0"), ("min_p", "1"), ("max_tokens", "0"),
                             ("max_tokens", "9223372036854775807"), ("top_k", "x")] {
            XCTAssertThrowsError(try settings.set(key, value), "\(key) \(value)") { error in
                XCTAssertTrue("\(error)".contains("expected"), "\(error)")
            }
        }
        XCTAssertThrowsError(try settings.set("seedling", "1")) { XCTAssertTrue("\($0)".contains("unknown setting 'seedling'"), "\($0)") }
        XCTAssertEqual(settings, before, "a refused value changes nothing")

        // Saved with the chat and taken back through the same checks: a bad saved value is reported and
        // the current one kept.
        var fresh = RuntimeSettings(sampler: SamplerSettings(), maxReplyTokens: 512)
        XCTAssertEqual(fresh.restore(settings.saved), [])
        XCTAssertEqual(fresh.saved, settings.saved)
        var damaged = settings.saved
        damaged.top_p = 7
        var other = RuntimeSettings(sampler: SamplerSettings(), maxReplyTokens: 512)
        let problems = other.restore(damaged)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems.first?.contains("top_p") == true, "\(problems)")
        XCTAssertEqual(other.sampler.topP, SamplerSettings().topP)
        XCTAssertEqual(other.maxReplyTokens, 64)
        XCTAssertNil(other.contextSize, "no /set ctx: the run's context")
        // The chat's own context (`/set ctx`) is saved too and checked on the way back.
        settings.contextSize = 1024
        XCTAssertEqual(fresh.restore(settings.saved), [])
        XCTAssertEqual(fresh.contextSize, 1024)
        damaged = settings.saved
        damaged.ctx = 3
        XCTAssertEqual(fresh.restore(damaged).count, 1)
        XCTAssertNil(fresh.contextSize)
        let old = try XCTUnwrap("{\"temp\":0.2,\"top_k\":5,\"top_p\":0.9,\"min_p\":0,\"repeat_penalty\":1.1,\"max_tokens\":64}".data(using: .utf8))
        XCTAssertNil(try JSONDecoder().decode(RuntimeSettings.Saved.self, from: old).ctx, "files from before ctx was saved still load")
        // `/think off` is kept with the chat; files from before it think, as the template's default does.
        settings.thinking = false
        XCTAssertEqual(fresh.restore(settings.saved), [])
        XCTAssertFalse(fresh.thinking)
        XCTAssertEqual(fresh.restore(try JSONDecoder().decode(RuntimeSettings.Saved.self, from: old)), [])
        XCTAssertTrue(fresh.thinking)
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
        var t = Transcript()
        for i in 0 ..< 30 { t.append(i % 2 == 0 ? .user : .assistant, "message \(i) " + String(repeating: "word ", count: 30)) }
        var v = TranscriptViewport()
        var layout = t.layout(width: 80)
        _ = v.visibleRange(lineCount: layout.lines.count, entryStarts: layout.entryStarts, height: 20, width: 80)
        v.scroll(by: 60)
        var range = v.visibleRange(lineCount: layout.lines.count, entryStarts: layout.entryStarts, height: 20, width: 80)
        let topMessage = layout.entryStarts.lastIndex { $0 <= range.lowerBound }
        layout = t.layout(width: 40)
        range = v.visibleRange(lineCount: layout.lines.count, entryStarts: layout.entryStarts, height: 20, width: 40)
        XCTAssertEqual(layout.entryStarts.lastIndex { $0 <= range.lowerBound }, topMessage)
        XCTAssertFalse(v.isFollowing)
    }
}
