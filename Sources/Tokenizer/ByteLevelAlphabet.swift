/// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one printable Unicode character,
/// so BPE vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the other 68
/// bytes map to U+0100 onwards, in byte order (so a space is "Ġ", U+0120).
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the character that stands for byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0 ..< 256 {
            let printable = (0x21 ... 0x7E).contains(byte) || (0xA1 ... 0xAC).contains(byte) || (0xAE ... 0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `scalarForByte`, keyed by scalar value.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in scalarForByte.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    /// Decodes a vocabulary entry back to the bytes it stands for. A character outside the alphabet (not
    /// produced by a byte-level vocabulary) is kept as its own UTF-8 rather than dropped.
    static func bytes(of token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            if let byte = byteForScalar[scalar.value] {
                out.append(byte)
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }
}
