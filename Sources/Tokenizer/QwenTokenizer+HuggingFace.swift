import Foundation
import ModelFiles

/// What a Hugging Face `tokenizer.json` (what a model folder ships) says a Qwen tokenizer is: the BPE
/// model's `vocab` and `merges` (as "a b" strings, or as pairs as newer `tokenizers` write them) and the
/// `added_tokens` (special ones are control tokens, recognised only on request, as from a GGUF file;
/// others user-defined), as the GGUF tokenizer arrays hold them. Only byte-level BPE is accepted, the
/// only kind Qwen uses. `QwenTokenizer(huggingFaceJSON:)` runs on it; `convert` writes it into a GGUF.
public struct HuggingFaceVocabulary {
    /// By id, as the file spells them (byte-level alphabet; added tokens as their text).
    public let tokens: [String]
    /// `QwenTokenizer.TokenType` raw values, by id.
    public let types: [Int]
    /// By rank, "a b".
    public let merges: [String]

    /// A tokenizer.json is a few MB (Qwen's: 7 MB); more is not a tokenizer.
    public static let maxBytes = 64 << 20

    public init(path: String) throws {
        func fail(_ field: String, _ problem: String) -> ModelFileError { ModelFileError(path: path, field: field, problem: problem) }
        let mapping = try MappedFile(path: path)
        guard mapping.bytes.count <= Self.maxBytes else {
            throw fail("file", "is \(mapping.bytes.count) bytes, more than a tokenizer needs (\(Self.maxBytes))")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(mapping.bytes))
        } catch {
            throw fail("file", "is not valid JSON (\(error.localizedDescription))")
        }
        guard let root = json as? [String: Any], let model = root["model"] as? [String: Any] else {
            throw fail("model", "missing: not a tokenizer.json")
        }
        guard (model["type"] as? String) == "BPE" else {
            throw fail("model.type", "'\(model["type"] ?? "none")' is not supported (Qwen models use byte-level BPE)")
        }
        if let decoder = root["decoder"] as? [String: Any], let kind = decoder["type"] as? String, kind != "ByteLevel" {
            throw fail("decoder.type", "'\(kind)' is not byte-level: not a Qwen tokenizer")
        }
        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty else { throw fail("model.vocab", "missing or empty") }
        var byID: [Int: (text: String, type: Int)] = [:]
        for (text, value) in vocab {
            guard let id = value as? Int, id >= 0, id < Int(Int32.max) else { throw fail("model.vocab '\(text)'", "id is not a token id") }
            guard byID[id] == nil else { throw fail("model.vocab '\(text)'", "id \(id) is used twice") }
            byID[id] = (text, QwenTokenizer.TokenType.normal.rawValue)
        }
        for (index, item) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let token = item as? [String: Any], let id = token["id"] as? Int, id >= 0, id < Int(Int32.max),
                  let content = token["content"] as? String, !content.isEmpty else {
                throw fail("added_tokens[\(index)]", "needs an id and a non-empty content")
            }
            if let existing = byID[id], existing.text != content {
                throw fail("added_tokens[\(index)]", "id \(id) is already the vocabulary's '\(existing.text)'")
            }
            byID[id] = (content, (token["special"] as? Bool) == true ? QwenTokenizer.TokenType.control.rawValue
                                                                     : QwenTokenizer.TokenType.userDefined.rawValue)
        }
        let count = (byID.keys.max() ?? -1) + 1
        guard byID.count == count else {
            throw fail("model.vocab", "token ids are not contiguous (\(byID.count) tokens, largest id \(count - 1))")
        }
        tokens = (0 ..< count).map { byID[$0]?.text ?? "" }
        types = (0 ..< count).map { byID[$0]?.type ?? QwenTokenizer.TokenType.normal.rawValue }
        var merges: [String] = []
        for (rank, item) in ((model["merges"] as? [Any]) ?? []).enumerated() {
            if let text = item as? String {
                merges.append(text)
            } else if let pair = item as? [String], pair.count == 2 {
                merges.append(pair[0] + " " + pair[1])
            } else {
                throw fail("model.merges[\(rank)]", "is neither \"a b\" nor a pair of strings")
            }
        }
        self.merges = merges
    }
}

extension QwenTokenizer {
    /// From a Hugging Face `tokenizer.json` (`HuggingFaceVocabulary`), with the pipeline `init(gguf:)`
    /// builds. `eosToken` (from tokenizer_config.json) names the end-of-sequence token, if any.
    public convenience init(huggingFaceJSON path: String, eosToken: String? = nil) throws {
        func fail(_ field: String, _ problem: String) -> ModelFileError { ModelFileError(path: path, field: field, problem: problem) }
        let vocabulary = try HuggingFaceVocabulary(path: path)
        let tokens = vocabulary.tokens
        var eos: Int32?
        if let eosToken {
            guard let id = tokens.firstIndex(of: eosToken) else { throw fail("eos_token", "'\(eosToken)' is not in the vocabulary") }
            eos = Int32(id)
        }
        try self.init(tokens: tokens, types: vocabulary.types, merges: vocabulary.merges, bos: nil, eos: eos, eot: nil,
                      error: { field, problem in
                          fail(field.replacingOccurrences(of: "tokenizer.ggml.tokens", with: "model.vocab")
                                   .replacingOccurrences(of: "tokenizer.ggml.merges", with: "model.merges"), problem)
                      })
    }
}
