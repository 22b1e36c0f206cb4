import CCurses
import Glibc

/// How many terminal columns text takes, exactly as ncursesw counts them: the C library's `wcwidth` of each
/// Unicode scalar under a UTF-8 locale (East Asian wide characters and most emoji 2, combining marks and
/// zero-width characters 0), summed over a grapheme cluster. Matching curses matters more than matching any
/// one terminal: curses places everything after a character by the width it believes, so a character
/// measured narrower here than there (✅ ⭐ ⚡ ☕ ⌚ were, with a hand-made table) pushes the line into the
/// stats pane's border.
public enum DisplayWidth {
    public static func of(_ character: Character) -> Int {
        character.unicodeScalars.reduce(0) { $0 + of($1) }
    }

    public static func of(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + of($1) }
    }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        Int(table[Int(scalar.value)])
    }

    /// `wcwidth` of every code point, computed once (~1.1 M calls, a few milliseconds) under C.UTF-8 (or
    /// en_US.UTF-8), whatever the process's own locale: the screen sets its locale from the environment,
    /// tests and pipes may run under "C", where `wcwidth` knows no character beyond ASCII. Controls
    /// (-1: the sanitiser shows them as visible symbols first) count 0; other unprintable code points
    /// (unassigned, surrogates) 1.
    private static let table: [UInt8] = {
        var widths = [UInt8](repeating: 1, count: 0x110000)
        let locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil) ?? newlocale(LC_CTYPE_MASK, "en_US.UTF-8", nil)
        let previous = locale.map { uselocale($0) }
        defer {
            if let previous { uselocale(previous) }
            if let locale { freelocale(locale) }
        }
        for value in 0 ..< 0x110000 {
            let width = qw_wcwidth(wchar_t(value))
            if width >= 0 {
                widths[value] = UInt8(width)
            } else if value < 0x20 || (0x7F ..< 0xA0).contains(value) {
                widths[value] = 0
            }
        }
        return widths
    }()
}
