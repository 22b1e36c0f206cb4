import Foundation
import Inference
import TestSupport
import XCTest
@testable import Chat

/// Many turns through the chat controller, as a long chat session goes: messages with their badges,
/// cancels, regenerations, continuations, edits, and a context small enough to overflow again and again.
/// Every turn must be answered, the model's memory must match the conversation, and memory must stay flat.
///
/// 300 turns on the bundled demo model take about a minute on 2 cores (the trims' prefills dominate), so
/// CI runs the whole thing; QWENTTY_SOAK_TURNS sets another count for a longer soak.
final class SoakTests: XCTestCase {
    func testTurnsWithCancelsRegenerationsAndOverflows() throws {
        let turns = Int(ProcessInfo.processInfo.environment["QWENTTY_SOAK_TURNS"] ?? "") ?? 300
        let demo = TestPaths.packageRoot.appendingPathComponent("models/qwentty-demo-q8_0.gguf").path
        var settings = SamplerSettings()
        settings.seed = 7
        let driver = try ChatDriver(model: demo, contextSize: 256, maxReplyTokens: 24, systemPrompt: nil, sampler: settings)
        let chat = driver.chat
        var trims = 0, cancelled = 0
        var residentAfterWarmUp = 0
        for turn in 1 ... turns {
            let message = "Turn \(turn): " + String(repeating: "tell me about the weather and the sea. ", count: 1 + turn % 4)
            try chat.send(message)
            if turn % 7 == 0 { chat.cancel() }
            driver.settle()
            if chat.conversation.messages.last?.status == .cut { cancelled += 1 }
            switch turn % 10 {
            case 3: try chat.regenerate()
            case 5: try chat.continueReply()
            case 8: _ = try chat.edit()
            default: break
            }
            driver.settle()
            for case .contextTrimmed(let trim) in driver.events where trim.seconds != nil { trims += 1 }
            XCTAssertFalse(driver.notices.contains { $0.hasPrefix("error:") }, "turn \(turn): \(driver.notices)")
            driver.clearNotices()
            if turn % 10 != 8 { XCTAssertEqual(chat.conversation.messages.last?.role, .assistant, "turn \(turn) was answered") }
            if turn % 25 == 0 { assertMemoryMatches(chat, "turn \(turn)") }
            if turn == min(50, turns) { residentAfterWarmUp = ProcessMemory.residentBytes }
        }
        assertMemoryMatches(chat, "the end")
        XCTAssertGreaterThan(trims, 0, "a 256-token context must have overflowed")
        XCTAssertGreaterThan(cancelled, 0)
        XCTAssertLessThanOrEqual(chat.context.exchanges.count, turns)
        // Flat memory: everything is preallocated, so the RSS after 50 turns and at the end differ by
        // little; 32 MB leaves room for the allocator's arenas and page-cache noise while catching a leak
        // of one KV cache per turn.
        let growth = ProcessMemory.residentBytes - residentAfterWarmUp
        XCTAssertLessThan(growth, 32 << 20, "RSS grew by \(growth >> 20) MiB over \(turns - 50) turns")
        print("soak: \(turns) turns, \(chat.conversation.exchanges.count) exchanges, \(cancelled) cancelled, \(trims) context trims, RSS growth \(growth >> 10) KiB")
    }
}
