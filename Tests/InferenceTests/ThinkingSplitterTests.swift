import XCTest
@testable import Inference

/// The streaming split of a reply into reasoning and answer: the same as the template's rule on the
/// whole text, however the text arrives.
final class ThinkingSplitterTests: XCTestCase {
    private let replies = [
        "<think>\nLet me think.\n</think>\n\nThe answer is **42**.",
        "\n<think>\nstill thinking",
        "Plain reply with no block.",
        "<think>a</think>b",
        "x<think>y<think>\nR</think>mid</think>\nend",
        "</think>",
        "<thi",
        "<think>\n\n</think>\n\n",
        "Code: `</think>` inside an answer",
        "<think>one</think>\n\ntwo</think>three",
        "\n\n\nHello",
    ]

    /// Every reply fed whole and in random pieces (seeded) gives what `ChatTemplate.splitReasoning` gives
    /// on the whole text, and the answer's revision changes exactly when the answer was replaced.
    func testStreamingEqualsTheTemplatesSplitInAnyChunking() {
        var seeded = UInt64(0x5EED)
        func next(_ bound: Int) -> Int {
            seeded = seeded &* 6364136223846793005 &+ 1442695040888963407
            return Int((seeded >> 33) % UInt64(bound))
        }
        for reply in replies {
            let whole = ThinkingSplitter(recognisesThinking: true, text: reply)
            let expected = ChatTemplate.splitReasoning(reply)
            if let expected {
                XCTAssertEqual(whole.reasoning, expected.reasoning, reply)
                XCTAssertEqual(whole.answer, expected.answer, reply)
            } else if reply.drop(while: { $0 == "\n" }).hasPrefix("<think>") {
                XCTAssertEqual(whole.answer, "", reply)
                XCTAssertNotNil(whole.reasoning, reply)
            } else {
                XCTAssertEqual(whole.answer, reply, reply)
                XCTAssertNil(whole.reasoning, reply)
            }
            for trial in 0 ..< 50 {
                var splitter = ThinkingSplitter(recognisesThinking: true)
                var rest = Substring(reply)
                var lastAnswer = "", lastRevision = 0
                while !rest.isEmpty {
                    let n = 1 + next(min(6, rest.count))
                    splitter.append(String(rest.prefix(n)))
                    rest = rest.dropFirst(n)
                    if splitter.answerRevision == lastRevision {
                        XCTAssertTrue(splitter.answer.hasPrefix(lastAnswer), "\(reply) trial \(trial): the answer shrank without a new revision")
                    }
                    lastAnswer = splitter.answer
                    lastRevision = splitter.answerRevision
                }
                splitter.finish()
                XCTAssertEqual(splitter.reasoning, whole.reasoning, "\(reply) trial \(trial)")
                XCTAssertEqual(splitter.answer, whole.answer, "\(reply) trial \(trial)")
                XCTAssertEqual(splitter.text, reply)
            }
        }
    }

    /// While streaming, an opening that may still become `<think>` shows nothing, an open block is all
    /// reasoning, and the answer starts after `</think>` without its leading newlines.
    func testStatesWhileStreaming() {
        var splitter = ThinkingSplitter(recognisesThinking: true)
        splitter.append("\n<thi")
        XCTAssertEqual(splitter.answer, "")
        XCTAssertNil(splitter.reasoning)
        splitter.append("nk>\nPondering")
        XCTAssertTrue(splitter.isThinking)
        XCTAssertEqual(splitter.reasoning, "Pondering")
        splitter.append(" more\n</th")
        XCTAssertEqual(splitter.answer, "")
        splitter.append("ink>\n\nDone.")
        XCTAssertFalse(splitter.isThinking)
        XCTAssertEqual(splitter.reasoning, "Pondering more")
        XCTAssertEqual(splitter.answer, "Done.")
        var held = ThinkingSplitter(recognisesThinking: true)
        held.append("<th")
        XCTAssertEqual(held.answer, "")
        held.finish()
        XCTAssertEqual(held.answer, "<th", "an opening that never became a tag is the answer")
    }

    /// A template without think blocks: every reply is all answer.
    func testTemplatesWithoutThinkBlocks() {
        let splitter = ThinkingSplitter(recognisesThinking: false, text: "<think>a</think>b")
        XCTAssertEqual(splitter.answer, "<think>a</think>b")
        XCTAssertNil(splitter.reasoning)
    }
}
