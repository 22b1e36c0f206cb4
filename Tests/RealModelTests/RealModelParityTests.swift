import Foundation
import Inference
import TestSupport
import Transformer
import XCTest

/// The real Qwen2.5-Coder-0.5B-Instruct Q4_K_M file against the references `scripts/make-real-model-references.py`
/// recorded with `transformers` (fp32, on the weights as dequantised from this file) and llama.cpp.
/// Without the file every test fails and says how to get it: nothing is skipped.
final class RealModelParityTests: XCTestCase {
    struct Reference: Decodable {
        struct Message: Decodable {
            let role: String
            let content: String
        }
        struct Chat: Decodable {
            let name: String
            let messages: [Message]
            let prompt: [Int32]
            let hf_greedy: [Int32]
            /// Per step of the transformers path: its top-5 [id, logprob].
            let hf_top_logprobs: [[[Double]]]
            let llamacpp_greedy: [Int32]
            let llamacpp_leading_agreement: Int
        }
        struct Template: Decodable {
            let name: String
            let messages: [Message]
            let prompt: [Int32]
        }
        let steps: Int
        let stop: [Int32]
        let chats: [Chat]
        let templates: [Template]
    }

    private func model() throws -> LoadedModel { try RealModel.load() }

    private func messages(_ list: [Reference.Message]) throws -> [ChatTurn] {
        try list.map { m in
            ChatTurn(role: try XCTUnwrap(ChatTurn.Role(rawValue: m.role), m.role), content: m.content)
        }
    }

    /// The stats pane and `/model` name the file as llama.cpp does (`general.file_type` 15 = Q4_K_M), not
    /// by its most common weight type (Q5_0), and `/model` lists the mix (REAL-MODEL.md's counts).
    func testFileTypeIsNamedAsLlamaCppNamesIt() throws {
        let loaded = try model()
        XCTAssertEqual(loaded.weightTypeSummary, "Q4_K_M")
        XCTAssertEqual(loaded.weightTypeMix, "Q5_0 ×133, F32 ×121, Q8_0 ×13, Q4_K ×12, Q6_K ×12")
    }

    /// The chat template: qwentty's ids for system / no system / multi-turn conversations equal
    /// `apply_chat_template` on the file's own Jinja template.
    func testChatTemplateMatchesTransformers() throws {
        let loaded = try model()
        let template = try XCTUnwrap(loaded.template)
        let reference = try TestPaths.loadJSON(Reference.self, "real-model-reference.json")
        XCTAssertGreaterThanOrEqual(reference.templates.count, 4)
        for t in reference.templates + reference.chats.map({ Reference.Template(name: $0.name, messages: $0.messages, prompt: $0.prompt) }) {
            XCTAssertEqual(template.render(try messages(t.messages), addGenerationPrompt: true), t.prompt, t.name)
        }
    }

    /// Greedy decoding of ≥ 8 chats (English, Chinese, code, multi-turn, long) against transformers fp32:
    /// - the first token is transformers' on every chat;
    /// - over all chats, qwentty keeps to transformers' path for at least as many leading tokens as
    ///   llama.cpp does (both quantise activations to 8 bits, so neither follows fp32 for ever);
    /// - where qwentty leaves the path, it is a near-tie: the token it chose is within 1.0 nat of
    ///   transformers' choice in transformers' own log-probabilities (an arithmetic error would pick a token
    ///   fp32 thinks unlikely). Checked per chat, because a per-chat count would be a coin toss at ties.
    func testGreedyParityWithTransformersAndLlamaCpp() throws {
        let loaded = try model()
        let template = try XCTUnwrap(loaded.template)
        let reference = try TestPaths.loadJSON(Reference.self, "real-model-reference.json")
        XCTAssertGreaterThanOrEqual(reference.chats.count, 8)
        var report: [String] = []
        var ours = 0, theirs = 0
        for chat in reference.chats {
            let prompt = template.render(try messages(chat.messages), addGenerationPrompt: true)
            XCTAssertEqual(prompt, chat.prompt, chat.name)
            let cache = loaded.model.makeCache(contextSize: prompt.count + reference.steps + 1)
            var sampler = Sampler(settings: .greedy)
            let result = try loaded.generator.generate(prompt: prompt, cache: cache, sampler: &sampler,
                                                       maxTokens: reference.steps) { _ in true }
            // The references include the stop token that ended them; qwentty reports it apart.
            let tokens = result.tokens + (result.stopToken.map { [$0] } ?? [])
            let agreement = zip(tokens, chat.hf_greedy).prefix { $0 == $1 }.count
            ours += agreement
            theirs += chat.llamacpp_leading_agreement
            report.append("\(chat.name): qwentty \(agreement), llama.cpp \(chat.llamacpp_leading_agreement) of \(chat.hf_greedy.count)")
            XCTAssertEqual(tokens.first, chat.hf_greedy.first, "\(chat.name): first token")
            if agreement < min(tokens.count, chat.hf_greedy.count) {
                let top = chat.hf_top_logprobs[agreement]
                let chosen = top.first { Int32($0[0]) == tokens[agreement] }
                let gap = chosen.map { top[0][1] - $0[1] }
                XCTAssertNotNil(gap, "\(chat.name): step \(agreement): qwentty's token \(tokens[agreement]) is not in transformers' top 5 \(top)")
                XCTAssertLessThan(gap ?? .infinity, 1.0, "\(chat.name): step \(agreement) is not a near-tie: \(top)")
                report[report.count - 1] += String(format: " (left at a %.2f-nat tie)", gap ?? .nan)
            }
        }
        print("leading tokens equal to transformers fp32:\n  " + report.joined(separator: "\n  "))
        XCTAssertGreaterThanOrEqual(ours, theirs, "leading tokens equal to transformers, all chats: qwentty \(ours), llama.cpp \(theirs)")
    }
}
