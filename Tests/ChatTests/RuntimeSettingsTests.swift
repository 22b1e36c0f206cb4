import Foundation
import Inference
import XCTest
@testable import Chat

final class RuntimeSettingsTests: XCTestCase {
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
    }
}
