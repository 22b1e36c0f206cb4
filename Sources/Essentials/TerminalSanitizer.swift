/// Makes untrusted text (model output, file metadata, pasted text) safe to write to a terminal.
///
/// A model can emit ESC and other control bytes; printed raw they could move the cursor, change
/// colours, set the window title or (with some terminals) worse. C0 controls other than newline and
/// tab become their visible Control Pictures (U+2400 block: ESC shows as ␛), DEL and C1 controls become
/// U+FFFD, and bidirectional overrides (which can make text read differently from what it is) are shown
/// as U+FFFD too.
public enum TerminalSanitizer {
    public static func sanitize(_ text: String, keepNewlines: Bool = true) -> String {
        guard text.unicodeScalars.contains(where: needsReplacing) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if !needsReplacing(scalar) || (keepNewlines && scalar == "\n") {
                out.append(scalar)
            } else if scalar.value < 0x20 {
                out.append(Unicode.Scalar(0x2400 + scalar.value) ?? "\u{FFFD}")
            } else {
                out.append("\u{FFFD}")
            }
        }
        return String(out)
    }

    /// Text as a screen or a `cat`-able export draws it: sanitised, tabs as single spaces (a tab's
    /// width depends on the column it lands in, which wrapped text cannot know).
    public static func display(_ text: String, keepNewlines: Bool = true) -> String {
        sanitize(text.contains("\t") ? String(text.map { $0 == "\t" ? " " : $0 }) : text, keepNewlines: keepNewlines)
    }

    static func needsReplacing(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: return false
        case 0x00 ..< 0x20, 0x7F ... 0x9F: return true
        case 0x202A ... 0x202E, 0x2066 ... 0x2069: return true
        default: return false
        }
    }
}
