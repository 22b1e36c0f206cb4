/// The Qwen2 pre-tokenizer: splits normalised text into the pieces BPE runs on.
///
/// It implements, as a linear-time hand-written scanner, the split pattern of Qwen's `tokenizer.json`
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// trying the alternatives in order at each position, as the regex engine does. A regex engine with
/// backtracking can go quadratic on long whitespace runs; this scanner looks at each character a bounded
/// number of times.
public enum QwenPreTokenizer {
    /// Character classes the pattern distinguishes.
    enum CharClass: UInt8 {
        case letter      // \p{L}
        case number      // \p{N}
        case newline     // \r or \n (also whitespace)
        case space       // U+0020 (also whitespace)
        case whitespace  // other \s
        case other       // none of the above
    }

    static func classify(_ scalar: Unicode.Scalar) -> CharClass {
        switch scalar.value {
        case 0x0A, 0x0D: return .newline
        case 0x20: return .space
        case 0x61 ... 0x7A, 0x41 ... 0x5A: return .letter
        case 0x30 ... 0x39: return .number
        case 0x00 ..< 0x80:
            return scalar.properties.isWhitespace ? .whitespace : .other
        default:
            break
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return scalar.properties.isWhitespace ? .whitespace : .other
        }
    }

    /// Splits `scalars` into pieces; returns the half-open scalar ranges, in order, covering everything.
    public static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let classes = scalars.map(classify)
        let n = scalars.count
        var pieces: [Range<Int>] = []
        var i = 0

        func isWhite(_ c: CharClass) -> Bool { c == .newline || c == .space || c == .whitespace }
        func lettersEnd(from start: Int) -> Int {
            var j = start
            while j < n, classes[j] == .letter { j += 1 }
            return j
        }

        while i < n {
            let c = classes[i]
            // 1. contractions: 's 't 're 've 'm 'll 'd, case-insensitive
            if scalars[i] == "'", let length = contractionLength(scalars, at: i + 1) {
                pieces.append(i ..< i + 1 + length)
                i += 1 + length
                continue
            }
            // 2. [^\r\n\p{L}\p{N}]?\p{L}+
            if c == .letter {
                let end = lettersEnd(from: i)
                pieces.append(i ..< end)
                i = end
                continue
            }
            if c != .newline, c != .number, i + 1 < n, classes[i + 1] == .letter {
                let end = lettersEnd(from: i + 1)
                pieces.append(i ..< end)
                i = end
                continue
            }
            // 3. \p{N}
            if c == .number {
                pieces.append(i ..< i + 1)
                i += 1
                continue
            }
            // 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
            var start = i
            if c == .space, i + 1 < n, classes[i + 1] == .other { start = i + 1 }
            if classes[start] == .other {
                var j = start
                while j < n, classes[j] == .other { j += 1 }
                while j < n, classes[j] == .newline { j += 1 }
                pieces.append(i ..< j)
                i = j
                continue
            }
            // Only whitespace is left: find the run.
            var runEnd = i
            var lastNewline = -1
            while runEnd < n, isWhite(classes[runEnd]) {
                if classes[runEnd] == .newline { lastNewline = runEnd }
                runEnd += 1
            }
            // 5. \s*[\r\n]+  — up to and including the run's last newline
            if lastNewline >= 0 {
                pieces.append(i ..< lastNewline + 1)
                i = lastNewline + 1
                continue
            }
            // 6. \s+(?!\S)  — the whole run at the end of text, else all but its last character
            if runEnd == n {
                pieces.append(i ..< n)
                i = n
                continue
            }
            if runEnd - i >= 2 {
                pieces.append(i ..< runEnd - 1)
                i = runEnd - 1
                continue
            }
            // 7. \s+
            pieces.append(i ..< runEnd)
            i = runEnd
        }
        return pieces
    }

    /// Length of a contraction suffix (s, t, re, ve, m, ll, d; any case) starting at `i`, or nil.
    /// U+017F (long s) case-folds to "s", so the regex's `(?i)` accepts it too.
    private static func contractionLength(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        func lower(_ k: Int) -> UInt32? {
            guard k < s.count else { return nil }
            let v = s[k].value
            if v == 0x17F { return 0x73 }
            if (0x41 ... 0x5A).contains(v) { return v + 0x20 }
            return v
        }
        guard let first = lower(i) else { return nil }
        switch first {
        case 0x73, 0x74, 0x6D, 0x64: return 1  // s t m d
        case 0x72, 0x76: return lower(i + 1) == 0x65 ? 2 : nil  // re ve
        case 0x6C: return lower(i + 1) == 0x6C ? 2 : nil  // ll
        default: return nil
        }
    }
}
