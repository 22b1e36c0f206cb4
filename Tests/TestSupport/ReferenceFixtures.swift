import Foundation

/// `Tests/Fixtures/reference.json`, written by scripts/make-fixtures.py from `transformers`.
public struct ReferenceFixtures: Decodable {
    public struct Model: Decodable {
        public let file: String
        public let arch: String
        public let type: String
        /// Float files (F32/F16/BF16): the engine must match to 1e-3 at every step.
        public let exact: Bool
        public let prompt: [Int32]
        public let greedy: [Int32]
        public let logits_steps: Int
        public let vocab: Int
        public let min_margin: Float
        /// Per step: top-5 `[id, logprob]` pairs.
        public let top_logprobs: [[[Double]]]

        /// Reference logits, `logits_steps × vocab`.
        public func logits() throws -> [Float] {
            try TestPaths.loadFloats(file.replacingOccurrences(of: ".gguf", with: ".logits.f32"))
        }
    }

    public let prompt_text: String
    public let models: [Model]

    public static func load() throws -> ReferenceFixtures {
        try TestPaths.loadJSON(ReferenceFixtures.self, "reference.json")
    }
}
