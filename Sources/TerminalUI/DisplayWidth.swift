/// How many terminal columns text takes: East Asian wide and fullwidth characters and emoji take two,
/// combining marks and zero-width joiners none, everything else one. Measured per grapheme cluster (a
/// family emoji of seven scalars is one two-column character), as terminals draw them.
public enum DisplayWidth {
    public static func of(_ character: Character) -> Int {
        var width = 0
        var emojiPresentation = false
        for scalar in character.unicodeScalars {
            if scalar.value == 0xFE0F { emojiPresentation = true }
            width = max(width, of(scalar))
        }
        if emojiPresentation, character.unicodeScalars.first?.properties.isEmoji == true { width = 2 }
        return width
    }

    public static func of(_ text: String) -> Int {
        text.reduce(0) { $0 + of($1) }
    }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x20 || (0x7F ..< 0xA0).contains(v) { return 0 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1100 ... 0x115F).contains(v) || (0x2E80 ... 0x303E).contains(v) || (0x3041 ... 0x33FF).contains(v)
            || (0x3400 ... 0x4DBF).contains(v) || (0x4E00 ... 0x9FFF).contains(v) || (0xA000 ... 0xA4CF).contains(v)
            || (0xAC00 ... 0xD7A3).contains(v) || (0xF900 ... 0xFAFF).contains(v) || (0xFE30 ... 0xFE4F).contains(v)
            || (0xFF00 ... 0xFF60).contains(v) || (0xFFE0 ... 0xFFE6).contains(v) || (0x1F300 ... 0x1F64F).contains(v)
            || (0x1F900 ... 0x1F9FF).contains(v) || (0x1F680 ... 0x1F6FF).contains(v) || (0x1FA70 ... 0x1FAFF).contains(v)
            || (0x20000 ... 0x3FFFD).contains(v) {
            return 2
        }
        return 1
    }
}
