import CCurses
import Foundation
import Inference
import XCTest
@testable import Chat
@testable import TerminalUI

final class DisplayWidthTests: XCTestCase {
    func testColumns() {
        XCTAssertEqual(DisplayWidth.of("abc"), 3)
        XCTAssertEqual(DisplayWidth.of("你好"), 4)
        XCTAssertEqual(DisplayWidth.of("こんにちは"), 10)
        XCTAssertEqual(DisplayWidth.of("e\u{301}"), 1)
        XCTAssertEqual(DisplayWidth.of("ＡＢ"), 4)
        XCTAssertEqual(DisplayWidth.of("a\u{200B}b"), 2, "zero-width space")
        // The characters that spilled into the stats pane with the old hand-made table: wide in glibc
        // (East Asian Width W), so two columns for ncursesw, and here.
        for wide in ["✅", "⭐", "⚡", "☕", "⌚"] { XCTAssertEqual(DisplayWidth.of(wide), 2, wide) }
        // Clusters count as ncursesw counts them, scalar by scalar: ❤ is narrow and its variation
        // selector zero-width; a skin-tone modifier is a wide scalar of its own.
        XCTAssertEqual(DisplayWidth.of("❤️"), 1)
        XCTAssertEqual(DisplayWidth.of("👍🏽"), 4)
    }

    /// Every code point against the C library's `wcwidth` under C.UTF-8 (what ncursesw uses), whatever
    /// locale the test process runs in.
    func testEveryCodePointMatchesTheCLibrary() throws {
        let locale = try XCTUnwrap(newlocale(LC_CTYPE_MASK, "C.UTF-8", nil), "C.UTF-8 is needed to compare")
        let previous = uselocale(locale)
        defer {
            uselocale(previous)
            freelocale(locale)
        }
        var mismatches: [String] = []
        for value in UInt32(0) ..< 0x110000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let expected = Int(qw_wcwidth(wchar_t(value)))
            guard expected >= 0 else { continue }  // controls and unassigned: the sanitiser's business
            if DisplayWidth.of(scalar) != expected, mismatches.count < 10 { mismatches.append(String(value, radix: 16)) }
        }
        XCTAssertEqual(mismatches, [])
    }
}

final class TextWrapperTests: XCTestCase {
    func testBreaksAtSpaces() {
        XCTAssertEqual(TextWrapper.wrap("the quick brown fox", width: 10), ["the quick", "brown fox"])
    }

    func testLongWordsAndNewlines() {
        XCTAssertEqual(TextWrapper.wrap("abcdefghij", width: 4), ["abcd", "efgh", "ij"])
        XCTAssertEqual(TextWrapper.wrap("a\n\nb", width: 4), ["a", "", "b"])
    }

    func testWideCharactersCountTwoColumns() {
        XCTAssertEqual(TextWrapper.wrap("你好世界", width: 5), ["你好", "世界"])
    }

    /// Whatever the text, no line is wider than the width and no character is lost (except the spaces
    /// a break replaces).
    func testNoLineOverflowsAndNothingIsLost() {
        let samples = ["The quick brown fox jumps over the lazy dog", "你好，世界。今天天气很好", "emoji 👍🏽 and 👨‍👩‍👧‍👦 family",
                       String(repeating: "x", count: 100), "mixed 中文 and English words together here", "  leading spaces"]
        for text in samples {
            for width in 1 ... 30 {
                let lines = TextWrapper.wrap(text, width: width)
                for line in lines {
                    XCTAssertLessThanOrEqual(DisplayWidth.of(line), max(width, 2), "\(text) at \(width)")
                }
                XCTAssertEqual(lines.joined().filter { $0 != " " }, text.filter { $0 != " " }, "\(text) at \(width)")
            }
        }
    }
}

final class InputEditorTests: XCTestCase {
    func testEditingKeys() {
        var e = InputEditor()
        e.insert("hello world")
        e.killWordBackward()
        XCTAssertEqual(e.text, "hello ")
        e.moveToLineStart()
        e.insert(">> ")
        XCTAssertEqual(e.text, ">> hello ")
        e.killToLineEnd()
        XCTAssertEqual(e.text, ">> ")
        e.insert("a\nbc")
        e.moveLeft()
        XCTAssertEqual(e.cursorLineAndColumn.line, 1)
        XCTAssertEqual(e.cursorLineAndColumn.column, 1)
        e.killToLineStart()
        XCTAssertEqual(e.text, ">> a\nc")
        e.backspace()
        XCTAssertEqual(e.text, ">> ac")
        e.moveToLineEnd()
        e.backspace()
        XCTAssertEqual(e.text, ">> a")
    }

    func testSubmitAndHistory() {
        var e = InputEditor()
        e.insert("   ")
        XCTAssertNil(e.submit(), "blank input is not sent")
        e.insert("first")
        XCTAssertEqual(e.submit(), "first")
        e.insert("second")
        XCTAssertEqual(e.submit(), "second")
        e.insert("draft")
        e.historyPrevious()
        XCTAssertEqual(e.text, "second")
        e.historyPrevious()
        XCTAssertEqual(e.text, "first")
        e.historyNext()
        e.historyNext()
        XCTAssertEqual(e.text, "draft", "the unsent draft comes back")
    }

    func testWideCharacterCursorColumn() {
        var e = InputEditor()
        e.insert("你好a")
        XCTAssertEqual(e.cursorLineAndColumn.column, 5)
    }
}

final class TranscriptTests: XCTestCase {
    private func result(_ label: String, _ p: Float) -> SentimentClassifier.Result {
        SentimentClassifier.Result(label: label, probability: p, probabilities: [p], scores: [0], latencySeconds: 0.133, truncatedTokens: 0)
    }

    func testUntrustedTextIsSanitised() {
        var t = TranscriptHarness()
        let reply = t.reply(streaming: true)
        t.stream("red \u{1B}[31mtext\u{1B}[0m\tand a tab", into: reply)
        let text = t.lines(width: 80).flatMap(\.runs).map(\.text).joined()
        XCTAssertFalse(text.contains("\u{1B}"))
        XCTAssertFalse(text.contains("\t"))
        XCTAssertTrue(text.contains("␛[31m"))
        // The record keeps what was written (a pasted tab stays a tab when the message is saved or sent
        // again); only what is drawn, and the markdown export, are sanitised.
        XCTAssertEqual(t[reply]?.text, "red \u{1B}[31mtext\u{1B}[0m\tand a tab")
        let export = SavedChat(model: "m", systemPrompt: nil, created: Date(), conversation: t.conversation)
        XCTAssertEqual(export.conversation.messages.first?.text, t[reply]?.text)
        XCTAssertFalse(export.markdown().contains("\u{1B}"))
        // A badge label read from a saved file is drawn sanitised too.
        t.badge(reply, "Pos\u{1B}[2Jitive", 0.5)
        XCTAssertFalse(t.lines(width: 80).flatMap(\.runs).map(\.text).joined().contains("\u{1B}"))
    }

    /// A notice added while a reply streams (a draft sent too early, `/theme`) goes below it, and the rest
    /// of the reply still streams into the reply, not into the notice.
    func testANoticeDuringAReplyDoesNotTakeItsTokens() {
        var t = TranscriptHarness()
        t.user("question")
        let reply = t.reply(streaming: true)
        t.stream("first half, ", into: reply)
        let notice = t.notice("A reply is still running: Esc cancels it.")
        t.stream("second half", into: reply)
        t.finish(reply)
        XCTAssertEqual(t[reply]?.text, "first half, second half")
        XCTAssertEqual(t.transcript.notice(notice), "A reply is still running: Esc cancels it.")
        XCTAssertEqual(t.lines(width: 60).map(\.text), ["you", "  question", "", "qwen", "  first half, second half", "",
                                                         "A reply is still running: Esc cancels it."])
    }

    /// A badge restored from a saved session has no latency: it shows none rather than "0 ms".
    func testRestoredBadgeShowsNoLatency() {
        var t = TranscriptHarness()
        t.transcript.showsLatency = true
        let user = t.user("I love it")
        t.badge(user, "Positive", 0.9)
        XCTAssertEqual(t.lines(width: 40)[0].runs.map(\.text), ["you", "  ", "[Positive 90%]"])
    }

    func testHeadersBadgesAndMarkers() {
        var t = TranscriptHarness()
        let user = t.user("I love it")
        let reply = t.reply(streaming: true)
        t.badge(user, "Positive", 0.91, latency: 0.133)
        var lines = t.lines(width: 40)
        XCTAssertEqual(lines[0].runs.map(\.text), ["you", "  ", "[Positive 91%]"], "latency only on demand")
        t.transcript.showsLatency = true
        lines = t.lines(width: 40)
        XCTAssertEqual(lines[0].runs.map(\.text), ["you", "  ", "[Positive 91%]", " 133 ms"])
        XCTAssertEqual(lines[0].runs[2].style, .positive)
        XCTAssertTrue(lines[3].runs.map(\.text).contains(" …"), "a streaming reply is marked")
        t.stream("partial", into: reply)
        t.finish(reply, .cut)
        lines = t.lines(width: 40)
        XCTAssertTrue(lines[3].runs.map(\.text).contains(" (cut)"))
        XCTAssertEqual(lines[4].text, "  partial")
        t.finish(reply, .tokenLimit)
        XCTAssertEqual(t.lines(width: 40)[3].runs.map(\.text).prefix(2), ["qwen", " (token limit)"])
    }

    /// A refused message is marked on screen, with its text kept.
    func testAFailedMessageIsMarkedAndKept() {
        var t = TranscriptHarness()
        let user = t.user("a very long paste")
        t.conversation.update(user) { $0.set(status: .failed("the message is 2370 tokens")) }
        XCTAssertEqual(t.lines(width: 40).map(\.text), ["you (not sent)", "  a very long paste"])
    }

    /// A Qwen3 reply's think block streams into a folded, dimmed line; the answer after it is the reply's
    /// markdown; `/think show` unfolds the reasoning, dimmed. The record keeps the whole reply.
    func testThinkingIsFoldedAndDimmed() {
        var t = TranscriptHarness()
        let reply = t.reply(streaming: true)
        for piece in ["<think>", "\nThey say", " hi.\n"] { t.stream(piece, into: reply) }
        var lines = t.lines(width: 60)
        XCTAssertEqual(lines[1].text, "  ▸ thinking… 3 words")
        XCTAssertEqual(lines[1].runs.map(\.style), [.dim])
        XCTAssertEqual(lines.dropFirst(2).map(\.text).joined(), "  ", "no answer yet: the empty line of a reply that streams")
        for piece in ["</think>", "\n\n", "**Hello**", " there"] { t.stream(piece, into: reply) }
        t.finish(reply)
        lines = t.lines(width: 60)
        XCTAssertEqual(lines.map(\.text), ["qwen", "  ▸ thought: 3 words (/think show unfolds)", "  Hello there"])
        XCTAssertTrue(lines[2].runs.contains { $0.style == .bold && $0.text == "Hello" }, "the answer is markdown")
        t.transcript.showsReasoning = true
        lines = t.lines(width: 60)
        XCTAssertEqual(lines.map(\.text), ["qwen", "  ▾ thought: 3 words", "    They say hi.", "  Hello there"])
        XCTAssertEqual(lines[2].runs.map(\.style), [.dim])
        XCTAssertEqual(t[reply]?.text, "<think>\nThey say hi.\n</think>\n\n**Hello** there")
        // The closing tag split over pieces (as text, when the vocabulary has no such token) is found too.
        let split = t.reply(streaming: true)
        for piece in ["<think>", "a b c", "</th", "ink>", "Done."] { t.stream(piece, into: split) }
        t.finish(split)
        XCTAssertEqual(t.lines(width: 60).suffix(3).map(\.text), ["  ▾ thought: 3 words", "    a b c", "  Done."])
    }

    /// A reply that only starts like `<think>` is held back until it is known, then is all answer; so is
    /// one that ends while held back, and a restored reply is split the same way. A model whose template
    /// has no think blocks shows every reply whole.
    func testOnlyAReplyOpeningWithThinkIsSplit() {
        var t = TranscriptHarness()
        let reply = t.reply(streaming: true)
        t.stream("<", into: reply)
        XCTAssertEqual(t.lines(width: 40).map(\.text), ["qwen …", "  "], "held back")
        t.stream("b> is a tag", into: reply)
        XCTAssertEqual(t.lines(width: 40).map(\.text), ["qwen …", "  <b> is a tag"])
        let short = t.reply(streaming: true)
        t.stream("<th", into: short)
        t.finish(short, .cut)
        XCTAssertEqual(t.lines(width: 40).last?.text, "  <th")
        t.remove([reply, short])
        t.reply("<think>\nR\n</think>\n\nDone.")
        XCTAssertEqual(t.lines(width: 60).map(\.text), ["qwen", "  ▸ thought: 1 word (/think show unfolds)", "  Done."])
        var plain = TranscriptHarness(recognisesThinking: false)
        plain.reply("<think>a</think>b")
        XCTAssertEqual(plain.lines(width: 60).map(\.text), ["qwen", "  <think>a</think>b"])
    }
}

final class ChatStatsTests: XCTestCase {
    private func sample() -> ChatStats {
        var s = ChatStats()
        s.model = "Qwen2.5-0.5B-Instruct"
        s.architecture = "qwen2"
        s.quant = "Q8_0"
        s.contextUsed = 120
        s.contextSize = 4096
        s.rssBytes = 570 << 20
        s.peakRSSBytes = 600 << 20
        s.threads = 2
        var stats = GenerationStats()
        stats.evalTokens = 11
        stats.evalSeconds = 0.2
        stats.promptTokens = 30
        stats.promptSeconds = 0.15
        s.replyStarted()
        s.firstToken(Engine.FirstToken(waitSeconds: 0.28, promptTokens: 30, promptSeconds: 0.15, contextUsed: 31))
        s.replyFinished(stats, contextUsed: 120)
        return s
    }

    func testStatusLineFoldsToTheWidth() {
        let s = sample()
        let wide = s.statusLine(width: 200)
        XCTAssertTrue(wide.hasPrefix("eval rate 50.0 tok/s · prompt eval 200 tok/s · first token 280 ms · context 120/4096"), wide)
        XCTAssertTrue(wide.hasSuffix("Qwen2.5-0.5B-Instruct"))
        let narrow = s.statusLine(width: 40)
        XCTAssertLessThanOrEqual(DisplayWidth.of(narrow), 40)
        XCTAssertTrue(narrow.hasPrefix("eval rate 50.0 tok/s"), "the most important item survives")
    }

    /// From Enter to the first token nothing of the previous reply is shown as this one's; at the first
    /// token its wait, prefill and context are.
    func testStreamingReplyShowsItsOwnFigures() {
        var s = sample()
        s.replyStarted()
        let value = { (label: String) in s.rows().first { $0.label == label }?.value }
        XCTAssertEqual(value("first token"), "…")
        XCTAssertEqual(value("prompt eval"), "…")
        XCTAssertNil(value("tokens"))
        s.firstToken(Engine.FirstToken(waitSeconds: 0.5, promptTokens: 40, promptSeconds: 0.4, contextUsed: 160))
        XCTAssertEqual(value("first token"), "500 ms")
        XCTAssertEqual(value("prompt eval"), "100 tok/s · 400 ms")
        XCTAssertEqual(value("context"), "160 / 4096")
        XCTAssertEqual(value("tokens"), "40 in · …")
    }

    func testLiveRateDuringAReplyThenTheReplyRate() {
        var s = sample()
        s.replyStarted()
        s.tokenArrived(rate: 42, recentRate: 40)
        s.tokenArrived(rate: 43, recentRate: 44)
        XCTAssertEqual(s.rows().first?.value, "43.0 tok/s ●", "live during the reply")
        XCTAssertEqual(s.replyCurve, [40, 44])
        var done = GenerationStats()
        done.evalTokens = 5
        done.evalSeconds = 0.1
        s.replyFinished(done, contextUsed: 200)
        XCTAssertEqual(s.rows().first?.value, "40.0 tok/s")
        XCTAssertEqual(s.replyRates, [50, 40], "one point per completed reply")
    }

    func testPaneLinesFitAndNameTheStats() {
        let lines = sample().paneLines(width: 29)
        for line in lines { XCTAssertLessThanOrEqual(DisplayWidth.of(line.text), 29, line.text) }
        let text = lines.map(\.text).joined(separator: "\n")
        for label in ["eval rate", "prompt eval", "first token", "sentiment", "context", "RSS", "peak RSS", "available",
                      "threads", "model", "arch", "quant", "load"] {
            XCTAssertTrue(text.contains(label), label)
        }
        XCTAssertTrue(text.contains("Qwen2.5-0.5B-Ins…"), "a long model name is cut with an ellipsis")
    }
}

final class SparklineTests: XCTestCase {
    func testScalesFromZeroToTheMaximum() {
        XCTAssertEqual(Sparkline.render([0, 1, 2, 3, 4, 5, 6, 7], width: 8), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(Sparkline.render([50, 60], width: 8), "▇█", "a zero baseline: 50 of 60 is high, not the bottom")
        XCTAssertEqual(Sparkline.render([1, 2, 3, 4], width: 2), "▆█", "only the last values that fit")
        XCTAssertEqual(Sparkline.render([], width: 5), "")
        XCTAssertEqual(Sparkline.render([0, .nan, .infinity], width: 5), "▁▁▁")
    }
}
