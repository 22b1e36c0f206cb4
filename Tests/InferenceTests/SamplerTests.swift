import Foundation
import XCTest
@testable import Inference

final class SamplerTests: XCTestCase {
    private func draw(_ logits: [Float], _ settings: SamplerSettings, recent: [Int32] = [], count: Int) -> [Int32] {
        var sampler = Sampler(settings: settings)
        return (0 ..< count).map { _ in sampler.sample(logits, vocabularySize: logits.count, recent: recent[...]).id }
    }

    private func settings(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0, seed: UInt64 = 7) -> SamplerSettings {
        var s = SamplerSettings()
        s.temperature = temperature
        s.topK = topK
        s.topP = topP
        s.minP = minP
        s.repetitionPenalty = 1
        s.seed = seed
        return s
    }

    func testGreedyPicksArgmax() {
        XCTAssertEqual(draw([0.1, 2.5, -1, 2.4], .greedy, count: 3), [1, 1, 1])
    }

    func testRepetitionPenaltyDemotesRecentTokens() {
        var s = SamplerSettings.greedy
        s.repetitionPenalty = 1.1
        // 2.5 / 1.1 = 2.27 < 2.4: the recently seen token 1 loses to token 3.
        XCTAssertEqual(draw([0.1, 2.5, -1, 2.4], s, recent: [1], count: 1), [3])
        // Negative logits are multiplied, so a penalty never makes a token more likely.
        XCTAssertEqual(draw([-0.5, -0.52, -3], s, recent: [0], count: 1), [1])
    }

    func testTopKOfOneIsGreedy() {
        XCTAssertEqual(Set(draw([0.1, 2.5, -1, 2.4], settings(temperature: 5, topK: 1), count: 200)), [1])
    }

    func testSeedReproducesAndDiffers() {
        let logits: [Float] = [1, 1.1, 0.9, 1.05, 0.95]
        XCTAssertEqual(draw(logits, settings(seed: 42), count: 50), draw(logits, settings(seed: 42), count: 50))
        XCTAssertNotEqual(draw(logits, settings(seed: 42), count: 50), draw(logits, settings(seed: 43), count: 50))
    }

    /// Empirical frequencies follow softmax(logits / T). 40 000 draws: the binomial standard deviation of
    /// a frequency is ≤ 0.0025, so a 0.015 bound is 6σ (and the seed is fixed, so it cannot flake).
    func testDrawsFollowTheTemperedDistribution() {
        let logits: [Float] = [2, 1, 0.5, -1]
        for temperature: Float in [1, 0.5] {
            let ids = draw(logits, settings(temperature: temperature), count: 40_000)
            let weights = logits.map { exp(Double($0 / temperature)) }
            let total = weights.reduce(0, +)
            for (i, w) in weights.enumerated() {
                let frequency = Double(ids.filter { $0 == Int32(i) }.count) / Double(ids.count)
                XCTAssertEqual(frequency, w / total, accuracy: 0.015, "token \(i) at T=\(temperature)")
            }
        }
    }

    func testTopPKeepsTheSmallestSufficientSet() {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 keeps the first two only.
        let logits = [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) }
        XCTAssertEqual(Set(draw(logits, settings(topP: 0.7), count: 2000)), [0, 1])
    }

    func testMinPDropsUnlikelyTokens() {
        // Relative to the top (0.5), min-p 0.4 drops tokens under 0.2: only 0 and 1 remain.
        let logits = [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) }
        XCTAssertEqual(Set(draw(logits, settings(minP: 0.4), count: 2000)), [0, 1])
    }

    func testReportedLogprobsAreTheModelsOwn() {
        let logits: [Float] = [2, 1, 0.5, -1]
        var sampler = Sampler(settings: .greedy)
        let sample = sampler.sample(logits, vocabularySize: 4, recent: [], alternatives: 3)
        let logZ = log(logits.map { exp(Double($0)) }.reduce(0, +))
        XCTAssertEqual(Double(sample.logprob), 2 - logZ, accuracy: 1e-5)
        XCTAssertEqual(sample.top.map(\.id), [0, 1, 2])
        XCTAssertEqual(Double(sample.top[2].logprob), 0.5 - logZ, accuracy: 1e-5)
    }

    func testTopIndicesOnALargeVocabulary() {
        var logits = [Float](repeating: 0, count: 151_936)
        logits[100] = 3; logits[151_935] = 5; logits[7] = 4
        XCTAssertEqual(Sampler.topIndices(logits, n: logits.count, k: 3), [151_935, 7, 100])
        // Ties: the lower token id first, as a stable sort by decreasing logit gives.
        logits[50] = 4; logits[3] = 4
        XCTAssertEqual(Sampler.topIndices(logits, n: logits.count, k: 4), [151_935, 3, 7, 50])
    }
}
