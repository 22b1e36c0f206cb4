import Foundation
import Inference
import TestSupport
import XCTest
@testable import Chat

/// The model's memory always matches the conversation, whatever a user does: a seeded random sequence
/// of chat commands on a small context, and after every one (once the chat settles) the engine's context
/// is the template's rendering of the conversation's recorded exchanges (`assertMemoryMatches`).
///
/// Runs 2 000 operations on the tiny Qwen3 fixture (thinking on and off among them) and 600 on the tiny
/// Qwen2 one; a failure names its seed and step. `QWENTTY_INVARIANT_SEED` replays one seed and
/// `QWENTTY_INVARIANT_OPS` sets the count.
final class ConversationInvariantTests: XCTestCase {
    enum Operation: CaseIterable {
        case send, sendLong, sendTooLong, cancelMidReply, regenerate, edit, editAndResend, continueReply, clear,
             systemPrompt, saveAndResume, thinkOn, thinkOff
    }

    /// A small deterministic generator (SplitMix64), so a seed means the same sequence everywhere.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testQwen3MemoryMatchesTheConversation() throws {
        try run(model: "tiny-qwen3-f32.gguf", operations: 2000, seed: 0x0051_3E3D)
    }

    func testQwen2MemoryMatchesTheConversation() throws {
        try run(model: "tiny-qwen2-f32.gguf", operations: 600, seed: 0x0051_2E2D)
    }

    private func run(model: String, operations: Int, seed defaultSeed: UInt64) throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["QWENTTY_INVARIANT_SEED"].flatMap { UInt64($0) } ?? defaultSeed
        let count = environment["QWENTTY_INVARIANT_OPS"].flatMap { Int($0) } ?? operations
        var random = SeededGenerator(state: seed)
        var sampler = SamplerSettings()
        sampler.seed = seed
        let driver = try ChatDriver(model: TestPaths.fixture(model), contextSize: 160, maxReplyTokens: 12, sampler: sampler)
        let chat = driver.chat
        var done: [Operation] = []
        var counts: [Operation: Int] = [:]
        var trims = 0, refused = 0
        for step in 0 ..< count {
            let operation = Operation.allCases.randomElement(using: &random) ?? .send
            done.append(operation)
            counts[operation, default: 0] += 1
            let words = ["sea", "weather", "code", "tea", "rain", "why", "how", "list"]
            func message(_ length: Int) -> String {
                (0 ..< length).map { _ in words.randomElement(using: &random) ?? "a" }.joined(separator: " ")
            }
            do {
                switch operation {
                case .send: try chat.send(message(Int.random(in: 1 ... 6, using: &random)))
                case .sendLong: try chat.send(message(Int.random(in: 20 ... 45, using: &random)))
                case .sendTooLong: try chat.send(message(200))
                case .cancelMidReply:
                    try chat.send(message(3))
                    if Bool.random(using: &random) {
                        driver.wait(until: { !chat.isBusy || (chat.conversation.messages.last?.text.count ?? 0) > 0 })
                    }
                    chat.cancel()
                case .regenerate: try chat.regenerate()
                case .edit: _ = try chat.edit()
                case .editAndResend:
                    if let text = try chat.edit() { try chat.send(text + " again") }
                case .continueReply: try chat.continueReply()
                case .clear: try chat.clear()
                case .systemPrompt:
                    try chat.setSystemPrompt(Bool.random(using: &random) ? nil : "Answer in \(message(1)).")
                case .saveAndResume:
                    let saved = try SavedChat(json: Data(try chat.savedChat().json().utf8))
                    chat.open(saved, from: "resumed-\(step)")
                case .thinkOn: chat.setThinking(true)
                case .thinkOff: chat.setThinking(false)
                }
            } catch let refusal as ChatController.Refusal {
                XCTFail("seed \(seed) step \(step) \(operation): refused on a settled chat: \(refusal)")
            }
            driver.settle()
            for case .contextTrimmed(let trim) in driver.events where trim.seconds != nil { trims += 1 }
            refused += chat.conversation.messages.filter(\.status.isFailed).count > 0 ? 1 : 0
            driver.clearNotices()
            assertMemoryMatches(chat, "seed \(seed) step \(step) after \(operation) (last steps: \(done.suffix(6)))")
            if testRun?.failureCount ?? 0 > 0 { return }
        }
        print("invariant \(model): \(count) operations, seed \(seed), \(trims) trims, \(counts.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "))")
        XCTAssertGreaterThan(trims, 0, "a 160-token context must have overflowed")
        XCTAssertGreaterThan(refused, 0, "over-long messages must have been refused")
    }
}
