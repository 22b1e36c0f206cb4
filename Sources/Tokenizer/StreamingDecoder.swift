/// Turns a stream of token ids into text without ever emitting half a UTF-8 character.
///
/// Byte-level BPE tokens often split a multi-byte character (an emoji is typically 2–4 tokens); printing
/// each token's bytes as they come would show replacement characters mid-stream. Bytes of an incomplete
/// trailing sequence are held back until the next token completes them (or `finish()` flushes them).
public struct StreamingDecoder {
    private let tokenizer: QwenTokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: QwenTokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text that `id` completes; may be empty while a character is still partial. Control tokens
    /// (`<|im_end|>`, …) produce no text.
    public mutating func append(_ id: Int32) -> String {
        guard tokenizer.type(of: id) != .control else { return "" }
        pending.append(contentsOf: tokenizer.bytes(of: id))
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[0 ..< cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Whatever is still held back, with incomplete sequences shown as U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a UTF-8 sequence that could still complete.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most 3 bytes for the lead byte of the last sequence.
        var k = n - 1
        while k >= 0, k >= n - 4, bytes[k] & 0xC0 == 0x80 { k -= 1 }
        guard k >= 0, k >= n - 4 else { return n }
        let lead = bytes[k]
        let needed: Int
        switch lead {
        case 0xC2 ... 0xDF: needed = 2
        case 0xE0 ... 0xEF: needed = 3
        case 0xF0 ... 0xF4: needed = 4
        default: return n  // ASCII or a byte that can never start a sequence: nothing to wait for
        }
        return n - k < needed ? k : n
    }
}
