import Inference

/// The one-line stats summary shown under the transcript. Items are listed most important first and
/// dropped from the end until the line fits, so an 80-column SSH session still gets the key numbers.
public struct StatusLine {
    public var model = ""
    public var quant = ""
    public var liveDecode: Double?
    public var last: GenerationStats?
    public var contextUsed = 0
    public var contextSize = 0
    public var rssBytes = 0
    public var peakRSSBytes = 0
    public var threads = 0
    public var busy = false

    public init() {}

    public func items() -> [String] {
        var items: [String] = []
        if let live = liveDecode, busy {
            items.append(String(format: "decode %.1f tok/s", live))
        } else if let s = last {
            items.append(String(format: "decode %.1f tok/s", s.evalTokensPerSecond))
        }
        if let s = last {
            items.append(String(format: "prefill %.0f tok/s", s.promptTokensPerSecond))
            items.append(String(format: "TTFT %.0f ms", s.timeToFirstToken * 1000))
        }
        items.append("ctx \(contextUsed)/\(contextSize)")
        items.append("RSS \(rssBytes >> 20)/\(peakRSSBytes >> 20) MiB")
        items.append("\(threads) threads")
        items.append(quant)
        items.append(TerminalSanitizer.sanitize(model, keepNewlines: false))
        return items.filter { !$0.isEmpty }
    }

    /// The items that fit in `width` columns, separated by " · ".
    public func render(width: Int) -> String {
        var line = ""
        for item in items() {
            let candidate = line.isEmpty ? item : line + " · " + item
            if DisplayWidth.of(candidate) > width { break }
            line = candidate
        }
        return line
    }
}
