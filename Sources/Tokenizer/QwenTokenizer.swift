import Foundation
import ModelFiles

/// Qwen's byte-level BPE tokenizer, built from the `tokenizer.ggml.*` keys of a GGUF file.
///
/// The pipeline follows Qwen's `tokenizer.json`: added tokens are split out of the raw text first, then
/// each remaining segment is NFC-normalised, pre-tokenized (`QwenPreTokenizer`) and BPE-encoded
/// (`BytePairEncoder`). Control tokens (`<|im_start|>`, …; GGUF token type 3) are recognised only when the
/// caller asks for it — user text containing `<|im_start|>` stays text — while user-defined added tokens
/// (type 4) are always recognised, as in Hugging Face and llama.cpp.
public final class QwenTokenizer: @unchecked Sendable {
    public enum TokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public let vocabularySize: Int
    public let tokenTypes: [TokenType]
    public let bosID: Int32?
    public let eosID: Int32?
    /// End-of-turn id (`<|im_end|>` for chat models), if the file names one or has the token.
    public let eotID: Int32?
    public let imStartID: Int32?
    public let imEndID: Int32?

    private let encoder: BytePairEncoder
    /// Flat storage of each token's decoded bytes: token `i` is `tokenBytes[tokenOffsets[i] ..< tokenOffsets[i+1]]`.
    private let tokenBytes: [UInt8]
    private let tokenOffsets: [Int32]
    /// Added tokens by first UTF-8 byte, longest first: (text bytes, id, is control).
    private let addedTokens: [UInt8: [(bytes: [UInt8], id: Int32, control: Bool)]]
    private let idByText: [String: Int32]

    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw gguf.error("tokenizer.ggml.model", "tokenizer '\(model)' is not supported (Qwen models use byte-level BPE, 'gpt2')")
        }
        if let pre = gguf.metadata["tokenizer.ggml.pre"]?.string, !["qwen2", "qwen", "default"].contains(pre) {
            throw gguf.error("tokenizer.ggml.pre", "pre-tokenizer '\(pre)' is not supported (this build implements Qwen's 'qwen2')")
        }
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        let types = gguf.metadata["tokenizer.ggml.token_type"] == nil ? nil : try gguf.intArray("tokenizer.ggml.token_type")
        let merges = try gguf.stringArray("tokenizer.ggml.merges")
        func optionalID(_ key: String) throws -> Int32? {
            guard gguf.metadata[key] != nil else { return nil }
            let id = try gguf.int(key)
            guard id >= 0, id < tokens.count else { throw gguf.error(key, "token id \(id) is outside the vocabulary (\(tokens.count) tokens)") }
            return Int32(id)
        }
        try self.init(tokens: tokens, types: types, merges: merges,
                      bos: optionalID("tokenizer.ggml.bos_token_id"),
                      eos: optionalID("tokenizer.ggml.eos_token_id"),
                      eot: optionalID("tokenizer.ggml.eot_token_id"),
                      error: { gguf.error($0, $1) })
    }

    init(tokens: [String], types: [Int]?, merges: [String], bos: Int32?, eos: Int32?, eot: Int32?,
         error: (String, String) -> Error) throws {
        guard !tokens.isEmpty, tokens.count < Int(Int32.max) else {
            throw error("tokenizer.ggml.tokens", "vocabulary is empty")
        }
        if let types, types.count != tokens.count {
            throw error("tokenizer.ggml.token_type", "has \(types.count) entries for \(tokens.count) tokens")
        }
        vocabularySize = tokens.count
        tokenTypes = (types ?? []).map { TokenType(rawValue: $0) ?? .normal } + Array(repeating: .normal, count: types == nil ? tokens.count : 0)

        var idByText: [String: Int32] = [:]
        idByText.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() where idByText[token] == nil {
            idByText[token] = Int32(i)
        }
        self.idByText = idByText

        var byteTokens: [Int32] = []
        for byte in 0 ..< 256 {
            guard let id = idByText[String(ByteLevelAlphabet.scalarForByte[byte])] else {
                throw error("tokenizer.ggml.tokens", "has no token for byte 0x\(String(byte, radix: 16)); not a byte-level BPE vocabulary")
            }
            byteTokens.append(id)
        }

        var mergeTable: [UInt64: (rank: Int32, merged: Int32)] = [:]
        mergeTable.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let left = idByText[String(parts[0])], let right = idByText[String(parts[1])],
                  let merged = idByText[String(parts[0]) + String(parts[1])] else {
                throw error("tokenizer.ggml.merges", "entry \(rank) '\(merge)' does not name two tokens whose join is a token")
            }
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            if mergeTable[key] == nil { mergeTable[key] = (Int32(rank), merged) }
        }
        encoder = BytePairEncoder(byteTokens: byteTokens, merges: mergeTable)

        var flat: [UInt8] = []
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        var added: [UInt8: [(bytes: [UInt8], id: Int32, control: Bool)]] = [:]
        for (i, token) in tokens.enumerated() {
            let type = tokenTypes[i]
            if type == .control || type == .userDefined {
                let bytes = Array(token.utf8)
                flat.append(contentsOf: bytes)
                if let first = bytes.first {
                    added[first, default: []].append((bytes, Int32(i), type == .control))
                }
            } else {
                flat.append(contentsOf: ByteLevelAlphabet.bytes(of: token))
            }
            offsets.append(Int32(flat.count))
        }
        for key in added.keys { added[key]?.sort { $0.bytes.count > $1.bytes.count } }
        tokenBytes = flat
        tokenOffsets = offsets
        addedTokens = added

        bosID = bos
        eosID = eos
        imStartID = idByText["<|im_start|>"]
        imEndID = idByText["<|im_end|>"]
        eotID = eot ?? imEndID
    }

    /// The id of a token given by its exact vocabulary text, if any.
    public func id(of text: String) -> Int32? { idByText[text] }

    public func type(of id: Int32) -> TokenType {
        Int(id) < tokenTypes.count && id >= 0 ? tokenTypes[Int(id)] : .unknown
    }

    // MARK: Encoding

    /// Token ids of `text`. With `parseSpecial`, control tokens written in the text become their ids;
    /// without it they are encoded as the plain characters they are (the safe default for user input).
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        var out: [Int32] = []
        let utf8 = Array(text.utf8)
        var segmentStart = 0
        var i = 0
        while i < utf8.count {
            if let candidates = addedTokens[utf8[i]],
               let match = candidates.first(where: { (parseSpecial || !$0.control) && utf8.hasPrefix($0.bytes, at: i) }) {
                encodeOrdinary(utf8[segmentStart ..< i], into: &out)
                out.append(match.id)
                i += match.bytes.count
                segmentStart = i
            } else {
                i += 1
            }
        }
        encodeOrdinary(utf8[segmentStart ..< utf8.count], into: &out)
        return out
    }

    /// Token ids of raw bytes. Invalid UTF-8 is first repaired to U+FFFD (maximal subparts, as Python's
    /// `bytes.decode(errors="replace")` does): a tokenizer input is text.
    public func encode(bytes: [UInt8], parseSpecial: Bool = false) -> [Int32] {
        encode(String(decoding: bytes, as: UTF8.self), parseSpecial: parseSpecial)
    }

    /// NFC → pre-tokenizer → BPE for text that holds no added tokens.
    private func encodeOrdinary(_ utf8: ArraySlice<UInt8>, into out: inout [Int32]) {
        guard !utf8.isEmpty else { return }
        let raw = String(decoding: utf8, as: UTF8.self)
        let normalized = isASCII(utf8) ? raw : raw.precomposedStringWithCanonicalMapping
        let scalars = Array(normalized.unicodeScalars)
        // UTF-8 offset of every scalar, so pieces can be cut out of one byte buffer.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var offsets: [Int] = []
        offsets.reserveCapacity(scalars.count + 1)
        for scalar in scalars {
            offsets.append(bytes.count)
            if let encoded = UTF8.encode(scalar) { bytes.append(contentsOf: encoded) }
        }
        offsets.append(bytes.count)
        for piece in QwenPreTokenizer.split(scalars) {
            encoder.encode(bytes[offsets[piece.lowerBound] ..< offsets[piece.upperBound]], into: &out)
        }
    }

    private func isASCII(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { $0 < 0x80 }
    }

    // MARK: Decoding

    /// The bytes a token stands for (an added token's own text). Out-of-range ids give no bytes.
    public func bytes(of id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        return tokenBytes[Int(tokenOffsets[Int(id)]) ..< Int(tokenOffsets[Int(id) + 1])]
    }

    public func decodeBytes(_ ids: [Int32], skipControl: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where !(skipControl && type(of: id) == .control) {
            out.append(contentsOf: bytes(of: id))
        }
        return out
    }

    /// Text of `ids`; bytes that are not valid UTF-8 on their own become U+FFFD.
    public func decode(_ ids: [Int32], skipControl: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipControl: skipControl), as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    fileprivate func hasPrefix(_ prefix: [UInt8], at index: Int) -> Bool {
        guard index + prefix.count <= count else { return false }
        for k in 0 ..< prefix.count where self[index + k] != prefix[k] { return false }
        return true
    }
}
