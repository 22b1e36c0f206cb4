/// A one-line chart of recent values with the eight block characters ▁…█, scaled from zero to the
/// largest value shown (a zero baseline, so a drop from 60 to 50 tok/s looks like the 17 % it is).
public enum Sparkline {
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The last `width` values (older ones scroll off the left).
    public static func render(_ values: [Double], width: Int) -> String {
        let shown = values.suffix(max(0, width)).map { $0.isFinite ? max(0, $0) : 0 }
        guard let top = shown.max(), top > 0 else { return String(repeating: levels[0], count: shown.count) }
        return String(shown.map { levels[min(levels.count - 1, Int(($0 / top * Double(levels.count - 1)).rounded()))] })
    }
}
