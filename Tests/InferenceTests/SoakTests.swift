import Foundation
import TestSupport
import XCTest
@testable import Inference

/// Many turns through the engine, as a long chat session goes: messages with their badges, cancels,
/// regenerations, continuations, edits, and a context small enough to overflow again and again. Every
/// request must be answered, the conversation must stay consistent, and memory must stay flat.
///
/// 300 turns on the bundled demo model take about a minute on 2 cores (the trims' prefills dominate), so
/// CI runs the whole thing; QWENTTY_SOAK_TURNS sets another count for a longer soak.
final class SoakTests: XCTestCase {
    func testTurnsWithCancelsRegenerationsAndOverflows() throws {
        let turns = Int(ProcessInfo.processInfo.environment["QWENTTY_SOAK_TURNS"] ?? "") ?? 300
        let demo = TestPaths.packageRoot.appendingPathComponent("models/qwentty-demo-q8_0.gguf").path
        let loaded = try LoadedModel(path: demo, threads: 2, contextSize: 256)
        var settings = SamplerSettings()
        settings.seed = 7
        let engine = try Engine(loaded: loaded, samplerSettings: settings, maxReplyTokens: 24)
        defer { engine.shutdown() }

        var pending: Set<Engine.RequestID> = []
        var replies = 0, trims = 0, cancelled = 0, errors: [String] = []
        func drain(until done: () -> Bool) {
            let deadline = Date().addingTimeInterval(120)
            while !done(), Date() < deadline {
                var fds = [pollfd(fd: engine.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
                _ = poll(&fds, 1, 50)
                for event in engine.drainEvents() {
                    switch event {
                    case .sentiment(let id, _): pending.remove(id)
                    case .replyDone(let id, let summary):
                        pending.remove(id)
                        replies += 1
                        if summary.stats.stopReason == .cancelled { cancelled += 1 }
                    case .error(let id, let message):
                        pending.remove(id)
                        errors.append("\(id): \(message)")
                    case .contextTrimmed(_, let trim): if trim.seconds != nil { trims += 1 }
                    case .restored(let id, _, _, _): pending.remove(id)
                    case .firstToken, .token: break
                    }
                }
            }
        }

        var residentAfterWarmUp = 0
        for turn in 1 ... turns {
            let message = "Turn \(turn): " + String(repeating: "tell me about the weather and the sea. ", count: 1 + turn % 4)
            pending.insert(engine.enqueue(.classify(message, .normal)))
            let reply = engine.enqueue(.send(message))
            pending.insert(reply)
            if turn % 7 == 0 { engine.cancel(reply) }
            drain { pending.isEmpty }
            switch turn % 10 {
            case 3:  // /regen: the screen takes the exchange back and sends its message again
                engine.enqueue(.dropLastExchange)
                pending.insert(engine.enqueue(.send(message)))
            case 5: pending.insert(engine.enqueue(.continueReply))
            case 8: engine.enqueue(.dropLastExchange)
            default: break
            }
            // A finished reply's badge is background work; it may still be running when the next message
            // comes, which is the point.
            if turn % 2 == 0 { engine.enqueue(.classify("a reply to classify later", .background)) }
            drain { pending.isEmpty }
            XCTAssertTrue(pending.isEmpty, "turn \(turn): unanswered requests \(pending)")
            if turn == min(50, turns) { residentAfterWarmUp = ProcessMemory.residentBytes }
        }
        engine.shutdown()
        let session = engine.session
        XCTAssertEqual(errors, [], "every request answered without an error")
        XCTAssertGreaterThanOrEqual(replies, turns, "every message (and regeneration, continuation) got a reply")
        XCTAssertGreaterThan(trims, 0, "a 256-token context must have overflowed")
        XCTAssertGreaterThan(cancelled, 0)
        XCTAssertEqual(session.cache.count, session.tokens.count, "the cache still holds exactly the conversation")
        XCTAssertLessThanOrEqual(session.exchangeCount, turns)
        // Flat memory: everything is preallocated, so the RSS after 50 turns and at the end differ by
        // little; 32 MB leaves room for the allocator's arenas and page-cache noise while catching a leak
        // of one transcript (or one KV cache) per turn.
        let growth = ProcessMemory.residentBytes - residentAfterWarmUp
        XCTAssertLessThan(growth, 32 << 20, "RSS grew by \(growth >> 20) MiB over \(turns - 50) turns")
        print("soak: \(turns) turns, \(replies) replies, \(cancelled) cancelled, \(trims) context trims, RSS growth \(growth >> 10) KiB")
    }
}
