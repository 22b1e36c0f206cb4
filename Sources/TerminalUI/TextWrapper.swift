/// Word wrapping by display columns. Lines break at spaces where possible; a word longer than the
/// width is cut (CJK text, which has no spaces, breaks between characters); "\n" always breaks.
public enum TextWrapper {
    public static func wrap(_ text: String, width: Int) -> [String] {
        let width = max(1, width)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineWidth = 0
            var lastSpace: String.Index?  // position in `line` after the last space
            for character in paragraph {
                let w = DisplayWidth.of(character)
                if lineWidth + w > width {
                    if character == " " {
                        lines.append(line)
                        line = ""
                        lineWidth = 0
                        lastSpace = nil
                        continue
                    }
                    if let cut = lastSpace, cut > line.startIndex {
                        lines.append(String(line[..<cut]).trimmingTrailingSpaces())
                        line = String(line[cut...])
                    } else {
                        lines.append(line)
                        line = ""
                    }
                    lineWidth = DisplayWidth.of(line)
                    lastSpace = nil
                }
                line.append(character)
                lineWidth += w
                if character == " " { lastSpace = line.endIndex }
            }
            lines.append(line)
        }
        return lines
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
