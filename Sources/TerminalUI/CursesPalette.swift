import CCurses

/// A theme applied to curses: one colour pair per theme element, at the depth the terminal supports,
/// plus the attributes (bold, dim, underline, reverse) that carry meaning even without colour. Curses
/// calls stay on the UI thread, like every other curses call.
struct CursesPalette {
    /// What the terminal can show, and what this theme is drawn at (ANSI numbers for an ANSI theme).
    let terminalDepth: ColorDepth
    let depth: ColorDepth
    private var pairs: [Theme.Element: Int32] = [:]
    private var colored: Set<Theme.Element> = []

    /// Defines the pairs for `theme` (call after `start_color`, again to switch themes).
    init(theme: Theme, depth terminalDepth: ColorDepth) {
        let depth = terminalDepth.depth(for: theme)
        self.terminalDepth = terminalDepth
        self.depth = depth
        guard depth != .mono else { return }
        var next: Int32 = 1
        for element in Theme.Element.allCases where element != .codeBackground && element != .statusBackground {
            let background: Theme.Element? = element == .codeBlock ? .codeBackground : element == .statusForeground ? .statusBackground : nil
            let fg = theme.colors[element].flatMap { depth.colorNumber(for: $0) } ?? -1
            let bg = background.flatMap { theme.colors[$0] }.flatMap { depth.colorNumber(for: $0) } ?? -1
            if fg == -1, bg == -1 { continue }
            init_extended_pair(next, Int32(fg), Int32(bg))
            pairs[element] = next
            colored.insert(element)
            if bg != -1 { colored.insert(background ?? element) }
            next += 1
        }
    }

    private func pair(_ element: Theme.Element) -> Int32 {
        pairs[element].map { Int32(qw_color_pair($0)) } ?? 0
    }

    /// Curses attributes for a transcript style.
    func attributes(for style: Transcript.Style) -> Int32 {
        let bold = Int32(qw_attr_bold()), dim = Int32(qw_attr_dim()), underline = Int32(qw_attr_underline())
        switch style {
        case .userHeader: return pair(.user) | bold
        case .assistantHeader: return pair(.assistant) | bold
        case .body: return pair(.text)
        case .notice: return pair(.notice) | (colored.contains(.notice) ? 0 : dim)
        case .dim: return colored.contains(.dim) ? pair(.dim) : dim
        case .positive: return pair(.positive) | (colored.contains(.positive) ? 0 : bold)
        case .negative: return pair(.negative) | (colored.contains(.negative) ? 0 : bold)
        case .neutral: return pair(.neutral)
        case .bold: return pair(.bold) | bold
        case .heading: return pair(.bold) | bold | underline
        case .code: return pair(.code) | (colored.contains(.code) ? 0 : bold)
        case .codeBlock: return pair(.codeBlock)
        case .sparkline: return pair(.sparkline)
        }
    }

    /// The status line: the theme's status colours, or reverse video.
    var statusAttributes: Int32 {
        colored.contains(.statusBackground) ? pair(.statusForeground) : pair(.statusForeground) | Int32(qw_attr_reverse())
    }

    var paneTitleAttributes: Int32 { pair(.paneTitle) | Int32(qw_attr_bold()) }
}
