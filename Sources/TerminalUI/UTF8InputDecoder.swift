/// Turns the terminal's input bytes into characters, one byte at a time, as terminals do with bytes
/// that are not UTF-8: each maximal invalid subsequence becomes one U+FFFD where it stands (the Unicode
/// standard's recommendation, which Swift's own `String(decoding:as:)` follows), and nothing around it is
/// lost. curses' wide-character reader instead dropped everything after the first invalid byte of a paste.
///
/// A sequence still incomplete when the input pauses is held until the next byte decides it.
struct UTF8InputDecoder {
    private var value: UInt32 = 0
    private var remaining = 0
    /// The range the next continuation byte must be in (narrower after E0, ED, F0, F4).
    private var low: UInt8 = 0x80, high: UInt8 = 0xBF

    /// The characters `byte` completes (none while a sequence is open; two when it breaks one).
    mutating func feed(_ byte: UInt8) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        if remaining > 0 {
            if (low ... high).contains(byte) {
                value = value << 6 | UInt32(byte & 0x3F)
                remaining -= 1
                low = 0x80
                high = 0xBF
                if remaining == 0 { out.append(Unicode.Scalar(value) ?? "\u{FFFD}") }
                return out
            }
            out.append("\u{FFFD}")  // the sequence so far is one maximal invalid subpart
            remaining = 0
            low = 0x80
            high = 0xBF
        }
        switch byte {
        case 0x00 ... 0x7F: out.append(Unicode.Scalar(byte))
        case 0xC2 ... 0xDF: open(UInt32(byte & 0x1F), 1)
        case 0xE0: open(0, 2, low: 0xA0)
        case 0xE1 ... 0xEC, 0xEE ... 0xEF: open(UInt32(byte & 0x0F), 2)
        case 0xED: open(0x0D, 2, high: 0x9F)
        case 0xF0: open(0, 3, low: 0x90)
        case 0xF1 ... 0xF3: open(UInt32(byte & 0x07), 3)
        case 0xF4: open(4, 3, high: 0x8F)
        default: out.append("\u{FFFD}")  // a stray continuation byte, C0, C1, F5–FF
        }
        return out
    }

    /// Whatever is held, as U+FFFD (the input ended inside a sequence).
    mutating func flush() -> [Unicode.Scalar] {
        guard remaining > 0 else { return [] }
        remaining = 0
        low = 0x80
        high = 0xBF
        return ["\u{FFFD}"]
    }

    private mutating func open(_ bits: UInt32, _ count: Int, low: UInt8 = 0x80, high: UInt8 = 0xBF) {
        value = bits
        remaining = count
        self.low = low
        self.high = high
    }
}
