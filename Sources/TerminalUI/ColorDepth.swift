/// How many colours the terminal can show, and how a theme's 24-bit colours map onto them.
public enum ColorDepth: Equatable, Comparable {
    case mono, ansi8, ansi16, xterm256, trueColor

    /// From curses' `COLORS` and the environment: a direct-colour terminfo (COLORS ≥ 2^24, e.g.
    /// `TERM=xterm-direct`) is truecolor; otherwise what the terminfo says. NO_COLOR means mono.
    public static func detect(colors: Int, hasColors: Bool, noColor: Bool) -> ColorDepth {
        if noColor || !hasColors || colors < 8 { return .mono }
        if colors >= 1 << 24 { return .trueColor }
        if colors >= 256 { return .xterm256 }
        if colors >= 16 { return .ansi16 }
        return .ansi8
    }

    /// The depth to draw `theme` at. A theme made only of the 16 ANSI colours (xterm's values, like
    /// `16-colour.theme`) is drawn with ANSI colour numbers even on a 256-colour or truecolor terminal:
    /// `ESC[33m`, not the nearest fixed-palette entry, so it follows the palette the user gave the terminal.
    public func depth(for theme: Theme) -> ColorDepth {
        let onlyANSI = !theme.colors.isEmpty && theme.colors.values.allSatisfy { Self.ansiPalette.contains($0) }
        return onlyANSI && self > .ansi16 ? .ansi16 : self
    }

    /// The terminal colour number for `rgb`: the RGB value itself on a direct-colour terminal, else the
    /// nearest palette entry (by squared distance in RGB, close enough for UI colours). nil on mono.
    public func colorNumber(for rgb: Theme.RGB) -> Int? {
        switch self {
        case .mono: return nil
        case .trueColor: return Int(rgb.red) << 16 | Int(rgb.green) << 8 | Int(rgb.blue)
        case .xterm256: return Self.nearest(rgb, in: Self.xterm256Palette, from: 16)
        case .ansi16: return Self.nearest(rgb, in: Self.ansiPalette, from: 0)
        case .ansi8: return Self.nearest(rgb, in: Array(Self.ansiPalette.prefix(8)), from: 0)
        }
    }

    private static func nearest(_ rgb: Theme.RGB, in palette: [Theme.RGB], from first: Int) -> Int {
        func distance(_ a: Theme.RGB, _ b: Theme.RGB) -> Int {
            let dr = Int(a.red) - Int(b.red), dg = Int(a.green) - Int(b.green), db = Int(a.blue) - Int(b.blue)
            return dr * dr + dg * dg + db * db
        }
        var best = 0
        for i in palette.indices where distance(rgb, palette[i]) < distance(rgb, palette[best]) { best = i }
        return first + best
    }

    /// The 16 ANSI colours as xterm draws them by default (terminals differ; this is the common reference).
    static let ansiPalette: [Theme.RGB] = [
        .init(0, 0, 0), .init(205, 0, 0), .init(0, 205, 0), .init(205, 205, 0),
        .init(0, 0, 238), .init(205, 0, 205), .init(0, 205, 205), .init(229, 229, 229),
        .init(127, 127, 127), .init(255, 0, 0), .init(0, 255, 0), .init(255, 255, 0),
        .init(92, 92, 255), .init(255, 0, 255), .init(0, 255, 255), .init(255, 255, 255),
    ]

    /// xterm colours 16…255: the 6×6×6 cube, then 24 greys. Entries 0…15 are left out on purpose: users
    /// often redefine them, so a theme colour should land on the fixed part of the palette.
    static let xterm256Palette: [Theme.RGB] = {
        let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
        var out: [Theme.RGB] = []
        for r in levels { for g in levels { for b in levels { out.append(.init(r, g, b)) } } }
        for i in 0 ..< 24 { let v = UInt8(8 + 10 * i); out.append(.init(v, v, v)) }
        return out
    }()
}
