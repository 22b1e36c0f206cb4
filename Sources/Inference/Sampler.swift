import Essentials
import Foundation
import Kernels

/// How the next token is chosen. Defaults are Qwen2.5-Instruct's `generation_config.json`.
public struct SamplerSettings: Sendable, Equatable {
    /// 0 means greedy (argmax).
    public var temperature: Float = 0.7
    /// Keep the k most likely tokens; 0 disables.
    public var topK: Int = 20
    /// Keep the smallest set whose probability reaches p; 1 disables.
    public var topP: Float = 0.8
    /// Drop tokens less likely than `minP` × the most likely one; 0 disables.
    public var minP: Float = 0
    /// CTRL-style penalty on tokens seen in the last `penaltyWindow` tokens; 1 disables.
    public var repetitionPenalty: Float = 1.05
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    public static var greedy: SamplerSettings {
        var s = SamplerSettings()
        s.temperature = 0
        s.applyGreedyDefault(penaltyGiven: false)
        return s
    }
}

/// A token chosen by the sampler, with the model's own log-probabilities (before any sampling
/// transformation) for the chosen token and its top alternatives.
public struct SampledToken: Sendable, Equatable {
    public let id: Int32
    public let logprob: Float
    public let top: [(id: Int32, logprob: Float)]

    public static func == (a: SampledToken, b: SampledToken) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

/// The sampler chain: repetition penalty → temperature → top-k → top-p → min-p → draw.
///
/// The order is Hugging Face `generate`'s (temperature before the truncations), so a seed and settings
/// mean the same thing as in the reference implementation. Greedy decoding skips the chain entirely.
public struct Sampler {
    public var settings: SamplerSettings
    private var random: Xoshiro256
    private var candidates: [(id: Int32, logit: Float)] = []
    private var working: [Float] = []

    public init(settings: SamplerSettings) {
        self.settings = settings
        random = Xoshiro256(seed: settings.seed)
    }

    /// Chooses the next token from `logits` (`vocabularySize` values); `recent` are the tokens the
    /// repetition penalty looks at. `alternatives` top entries are reported with their logprobs.
    public mutating func sample(_ logits: UnsafePointer<Float>, vocabularySize n: Int, recent: ArraySlice<Int32>,
                                alternatives: Int = 0) -> SampledToken {
        // The model's distribution, for reporting: log-softmax of the raw logits.
        let logNormalizer = logSumExp(logits, count: n)

        let chosen = choose(logits, n: n, recent: recent)
        let top = alternatives > 0 ? Self.topIndices(logits, n: n, k: alternatives).map { (Int32($0), logits[$0] - logNormalizer) } : []
        return SampledToken(id: chosen, logprob: logits[Int(chosen)] - logNormalizer, top: top)
    }

    private mutating func choose(_ logits: UnsafePointer<Float>, n: Int, recent: ArraySlice<Int32>) -> Int32 {
        let s = settings
        // Work on a copy (reused between calls) so penalties never touch the model's logits.
        if working.count != n { working = [Float](repeating: 0, count: n) }
        working.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: logits, count: n) }
        if s.repetitionPenalty != 1 {
            for id in Set(recent.suffix(s.penaltyWindow)) where id >= 0 && Int(id) < n {
                let l = logits[Int(id)]
                working[Int(id)] = l > 0 ? l / s.repetitionPenalty : l * s.repetitionPenalty
            }
        }
        return working.withUnsafeBufferPointer { w -> Int32 in
            guard let base = w.baseAddress else { return 0 }
            return chooseFromPenalised(base, n: n)
        }
    }

    private mutating func chooseFromPenalised(_ logit: UnsafePointer<Float>, n: Int) -> Int32 {
        let s = settings
        if s.temperature <= 0 {
            var best = 0
            for i in 1 ..< n where logit[i] > logit[best] { best = i }
            return Int32(best)
        }
        // Top-k by selection (never a full sort of a 150k vocabulary), then the rest on the survivors.
        let k = s.topK > 0 ? min(s.topK, n) : n
        candidates.removeAll(keepingCapacity: true)
        if k < n {
            for i in Self.topIndices(logit, n: n, k: k) { candidates.append((Int32(i), logit[i])) }
        } else {
            for i in 0 ..< n { candidates.append((Int32(i), logit[i])) }
            candidates.sort { $0.logit > $1.logit }
        }
        // Softmax over the survivors at this temperature.
        let top = candidates[0].logit
        var probabilities = candidates.map { Double(exp(($0.logit - top) / s.temperature)) }
        var total = probabilities.reduce(0, +)
        var keep = probabilities.count
        if s.topP < 1 {
            var cumulative = 0.0
            for (i, p) in probabilities.enumerated() {
                cumulative += p / total
                if cumulative >= Double(s.topP) { keep = i + 1; break }
            }
        }
        if s.minP > 0 {
            let threshold = probabilities[0] * Double(s.minP)
            keep = min(keep, max(1, probabilities.prefix(keep).firstIndex { $0 < threshold } ?? keep))
        }
        probabilities.removeLast(probabilities.count - keep)
        total = probabilities.reduce(0, +)
        var target = random.nextUnitDouble() * total
        for (i, p) in probabilities.enumerated() {
            target -= p
            if target < 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }

    /// A logit and its token, ordered by logit (ties: the lower index counts as larger, so the order is
    /// the same as a stable sort by decreasing logit).
    struct Candidate: Comparable {
        let value: Float
        let index: Int
        static func < (a: Candidate, b: Candidate) -> Bool { a.value < b.value || (a.value == b.value && a.index > b.index) }
    }

    /// Indices of the `k` largest values, largest first, by a bounded min-heap: O(n log k).
    static func topIndices(_ logits: UnsafePointer<Float>, n: Int, k: Int) -> [Int] {
        guard k > 0 else { return [] }
        var heap = MinHeap<Candidate>(capacity: k)
        for i in 0 ..< n {
            if heap.count < k {
                heap.push(Candidate(value: logits[i], index: i))
            } else if let smallest = heap.min, logits[i] > smallest.value {
                heap.replaceMin(with: Candidate(value: logits[i], index: i))
            }
        }
        return heap.unordered.sorted { $1 < $0 }.map(\.index)
    }
}

/// xoshiro256** seeded through SplitMix64: a fixed, documented generator, so a `--seed` reproduces the
/// same text on every platform and Swift version (the standard library's generator promises neither).
struct Xoshiro256 {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
