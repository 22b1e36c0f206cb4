import Essentials

/// A colour theme: one `#RRGGBB` colour per screen element, read from `themes/NAME.theme`.
///
/// Themes are written in 24-bit colour and brought down to what the terminal can show (`ColorDepth`):
/// truecolor terminals get the exact colours, others the nearest of the xterm 256, 16 or 8 colours, and a
/// terminal without colour (or NO_COLOR) gets bold/dim/reverse only. An empty value means "the terminal's
/// own default colour", which keeps light and dark terminals readable.
public struct Theme: Equatable {
    /// The elements a theme colours. Keys in the file are the raw values.
    public enum Element: String, CaseIterable {
        case text, user, assistant, notice, dim, positive, negative, neutral
        case bold, code, codeBlock = "code_block", codeBackground = "code_background"
        case statusForeground = "status_fg", statusBackground = "status_bg"
        case paneTitle = "pane_title", sparkline
    }

    public struct RGB: Equatable {
        public var red: UInt8, green: UInt8, blue: UInt8
        public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
            self.red = red; self.green = green; self.blue = blue
        }

        /// `#RRGGBB` (or `RRGGBB`); nil for anything else.
        public init?(hex: String) {
            let digits = hex.hasPrefix("#") ? hex.dropFirst() : Substring(hex)
            guard digits.count == 6, let value = UInt32(digits, radix: 16) else { return nil }
            self.init(UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF))
        }
    }

    public var name: String
    /// nil: the terminal's default colour for that element.
    public var colors: [Element: RGB]

    public init(name: String, colors: [Element: RGB]) {
        self.name = name
        self.colors = colors
    }

    public enum ThemeError: Error, CustomStringConvertible, Equatable {
        case problems(name: String, [String])
        public var description: String {
            switch self {
            case .problems(let name, let list): return "theme \(name): " + list.joined(separator: "; ")
            }
        }
    }

    /// Parses a theme file. Any problem (bad line, unknown key, bad colour) makes the whole theme fail
    /// with every problem listed, so the user sees all typos at once; the caller keeps the default.
    public init(name: String, parsing text: String) throws {
        let file = KeyValueFile(parsing: text)
        var problems = file.problems.map(\.description)
        var colors: [Element: RGB] = [:]
        for (key, value) in file.entries {
            guard let element = Element(rawValue: key) else {
                problems.append("unknown key \(key) (known: \(Element.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            if value.isEmpty { colors[element] = nil; continue }
            guard let rgb = RGB(hex: value) else {
                problems.append("\(key): \(value) is not a #RRGGBB colour")
                continue
            }
            colors[element] = rgb
        }
        guard problems.isEmpty else {
            throw ThemeError.problems(name: name, problems.map { TerminalSanitizer.sanitize($0, keepNewlines: false) })
        }
        self.init(name: name, colors: colors)
    }

    /// The built-in default (the same colours as `themes/dark.theme`), used when the themes folder is
    /// missing or a theme file is bad.
    public static let builtInDefault = Theme(name: "dark", colors: [
        .user: RGB(0x5F, 0xAF, 0xFF), .assistant: RGB(0xD7, 0x87, 0xFF), .notice: RGB(0xD7, 0xAF, 0x5F),
        .dim: RGB(0x8A, 0x8A, 0x8A), .positive: RGB(0x5F, 0xD7, 0x5F), .negative: RGB(0xFF, 0x5F, 0x5F),
        .neutral: RGB(0xD7, 0xAF, 0x5F), .bold: RGB(0xFF, 0xFF, 0xFF), .code: RGB(0xAF, 0xD7, 0xAF),
        .codeBlock: RGB(0xAF, 0xD7, 0xAF), .codeBackground: RGB(0x26, 0x26, 0x26),
        .statusForeground: RGB(0xE4, 0xE4, 0xE4), .statusBackground: RGB(0x30, 0x30, 0x48),
        .paneTitle: RGB(0x5F, 0xAF, 0xFF), .sparkline: RGB(0x5F, 0xD7, 0x5F),
    ])
}

