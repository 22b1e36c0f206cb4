/// Which transcript lines are on screen. At the bottom it follows new text; scrolled up, it holds its
/// place, anchored to a message rather than a line number, so a resize that re-wraps everything (and
/// changes every line number) keeps the same message at the top of the screen.
public struct TranscriptViewport {
    /// Lines scrolled up from the bottom (0: following the conversation).
    public private(set) var offsetFromBottom = 0
    /// The message at the top of the screen and how far into it (0…1), while scrolled.
    private var anchor: (entry: Int, fraction: Double)?
    private var lastWidth = 0
    private var lastLineCount = 0

    public init() {}

    public var isFollowing: Bool { offsetFromBottom == 0 }

    public mutating func scroll(by lines: Int) {
        offsetFromBottom = max(0, offsetFromBottom + lines)
        if offsetFromBottom == 0 { anchor = nil }
        lastWidth = -1  // recompute the anchor from the new offset on the next layout
    }

    public mutating func followBottom() {
        offsetFromBottom = 0
        anchor = nil
    }

    /// The range of `lineCount` lines to show in `height` rows; `entryStarts` are each message's first
    /// line in this layout (from `Transcript.layout`).
    public mutating func visibleRange(lineCount: Int, entryStarts: [Int], height: Int, width: Int) -> Range<Int> {
        let maxOffset = max(0, lineCount - height)
        if offsetFromBottom > 0, width == lastWidth {
            // Text arrived (or left) below: keep the lines being read where they are.
            offsetFromBottom = max(1, offsetFromBottom + lineCount - lastLineCount)
        } else if offsetFromBottom > 0, width != lastWidth, lastWidth > 0, let anchor, anchor.entry < entryStarts.count {
            // Re-wrapped: put the anchored message back at the top.
            let start = entryStarts[anchor.entry]
            let end = anchor.entry + 1 < entryStarts.count ? entryStarts[anchor.entry + 1] : lineCount
            let top = start + Int((Double(max(0, end - start)) * anchor.fraction).rounded(.down))
            offsetFromBottom = max(1, lineCount - height - top)
        }
        offsetFromBottom = min(offsetFromBottom, maxOffset)
        let end = lineCount - offsetFromBottom
        let start = max(0, end - height)
        if offsetFromBottom > 0 {
            let entry = max(0, (entryStarts.lastIndex { $0 <= start }) ?? 0)
            let entryStart = entryStarts.isEmpty ? 0 : entryStarts[entry]
            let entryEnd = entry + 1 < entryStarts.count ? entryStarts[entry + 1] : lineCount
            anchor = (entry, Double(start - entryStart) / Double(max(1, entryEnd - entryStart)))
        } else {
            anchor = nil
        }
        lastWidth = width
        lastLineCount = lineCount
        return start ..< end
    }
}
