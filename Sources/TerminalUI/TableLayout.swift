/// A markdown table drawn as aligned columns: cells padded to their column's width, columns separated by
/// a dim " │ ", the header rule drawn as "─┼─". When the natural widths do not fit, the widest columns
/// give way first (every column keeps at least its share) and their cells wrap inside the column, so a
/// table stays a table in a narrow terminal.
enum TableLayout {
    static let separator = " │ "

    static func lines(_ rows: [MarkdownStream.Line], width: Int) -> [[StyledRun]] {
        let columns = max(1, rows.map(\.cells.count).max() ?? 1)
        let natural = (0 ..< columns).map { column in
            rows.map { row in column < row.cells.count ? DisplayWidth.of(row.cells[column].map(\.text).joined()) : 0 }.max() ?? 0
        }
        let widths = fit(natural, into: width - separator.count * (columns - 1))
        var out: [[StyledRun]] = []
        for row in rows {
            if row.kind == .tableRule {
                out.append([StyledRun(widths.map { String(repeating: "─", count: $0) }.joined(separator: "─┼─"), .dim)])
                continue
            }
            let wrapped = (0 ..< columns).map { column -> [[StyledRun]] in
                let cell = column < row.cells.count ? row.cells[column] : []
                return cell.isEmpty ? [[]] : TextWrapper.wrap(cell, width: max(1, widths[column]))
            }
            for lineIndex in 0 ..< (wrapped.map(\.count).max() ?? 1) {
                var runs: [StyledRun] = []
                for column in 0 ..< columns {
                    if column > 0 { runs.append(StyledRun(separator, .dim)) }
                    let piece = lineIndex < wrapped[column].count ? wrapped[column][lineIndex] : []
                    runs += piece
                    let used = DisplayWidth.of(piece.map(\.text).joined())
                    if column < columns - 1, used < widths[column] { runs.append(StyledRun(String(repeating: " ", count: widths[column] - used), .body)) }
                }
                out.append(runs)
            }
        }
        return out
    }

    /// Column widths that fit `available` columns: the natural widths when they fit, else water-filling
    /// (columns narrower than a fair share keep their width; the rest share what is left equally).
    static func fit(_ natural: [Int], into available: Int) -> [Int] {
        let available = max(natural.count, available)
        guard natural.reduce(0, +) > available else { return natural }
        var widths = natural
        var open = Set(natural.indices)
        var remaining = available
        while !open.isEmpty {
            let share = remaining / open.count
            let small = open.filter { natural[$0] <= share }
            if small.isEmpty {
                var extra = remaining - share * open.count
                for column in open.sorted() {
                    widths[column] = max(1, share + (extra > 0 ? 1 : 0))
                    extra -= 1
                }
                break
            }
            for column in small {
                widths[column] = natural[column]
                remaining -= natural[column]
                open.remove(column)
            }
        }
        return widths
    }
}
