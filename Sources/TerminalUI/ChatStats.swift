import Essentials
import Foundation
import Inference

/// Everything the stats pane and status line show, collected from engine events and /proc. Names follow
/// llama.cpp and ollama: "eval rate" is decode speed, "prompt eval rate" prefill speed.
public struct ChatStats {
    public var model = ""
    public var architecture = ""
    public var quant = ""
    public var threads = 0
    public var loadSeconds = 0.0
    public var contextUsed = 0
    public var contextSize = 0
    /// How far the next trim is prepared, once one is planned (the chat's `context.nextTrim`).
    public var nextTrim: ChatSession.TrimReadiness?
    public var rssBytes = 0
    public var peakRSSBytes = 0
    public var availableBytes = 0
    /// A reply is streaming.
    public var busy = false
    /// Decode rate of the reply in progress (while `busy`).
    public var liveDecode: Double?
    /// The last completed reply.
    public var last: GenerationStats?
    public var lastSentimentSeconds: Double?
    /// The current (or last) reply's first token: the wait since Enter (no badge comes before it),
    /// its prefill and the context then. Nil from Enter until that token, so nothing of the previous reply
    /// is shown as if it were this one's.
    public private(set) var first: Engine.FirstToken?
    /// Decode rate within the current (or last) reply, token by token (smoothed over 8 tokens).
    public private(set) var replyCurve: [Double] = []
    /// Decode rate of each completed reply.
    public private(set) var replyRates: [Double] = []

    public init() {}

    public mutating func replyStarted() {
        busy = true
        liveDecode = nil
        first = nil
        replyCurve = []
    }

    public mutating func firstToken(_ token: Engine.FirstToken) {
        first = token
        contextUsed = token.contextUsed
    }

    public mutating func tokenArrived(rate: Double, recentRate: Double) {
        liveDecode = rate
        if recentRate > 0 { replyCurve.append(recentRate) }
    }

    public mutating func replyFinished(_ stats: GenerationStats, contextUsed: Int) {
        busy = false
        last = stats
        self.contextUsed = contextUsed
        if stats.evalTokens > 1 { replyRates.append(stats.evalTokensPerSecond) }
    }

    public mutating func sampleMemory() {
        rssBytes = ProcessMemory.residentBytes
        peakRSSBytes = ProcessMemory.peakResidentBytes
        availableBytes = ProcessMemory.availableBytes
    }

    /// The decode rate to show: live during a reply, else the last reply's.
    var decodeRate: Double? {
        if busy, let live = liveDecode { return live }
        return last.map(\.evalTokensPerSecond)
    }

    /// (label, value) rows of the pane, most important first.
    public func rows() -> [(label: String, value: String)] {
        var rows: [(String, String)] = []
        rows.append(("eval rate", decodeRate.map { String(format: "%.1f tok/s", $0) + (busy ? " ●" : "") } ?? "–"))
        let pending = busy ? "…" : "–"
        rows.append(("prompt eval", first.map { String(format: "%.0f tok/s · %.0f ms", $0.promptTokensPerSecond, $0.promptSeconds * 1000) } ?? pending))
        rows.append(("first token", first.map { String(format: "%.0f ms", $0.waitSeconds * 1000) } ?? pending))
        rows.append(("sentiment", lastSentimentSeconds.map { String(format: "%.0f ms", $0 * 1000) } ?? "–"))
        if busy {
            if let first { rows.append(("tokens", "\(first.promptTokens) in · …")) }
        } else if let s = last {
            rows.append(("tokens", "\(s.promptTokens) in · \(s.evalTokens) out"))
        }
        rows.append(("context", "\(contextUsed) / \(contextSize)"))
        if let nextTrimText { rows.append(("next trim", nextTrimText)) }
        rows.append(("RSS", Self.mebibytes(rssBytes)))
        rows.append(("peak RSS", Self.mebibytes(peakRSSBytes)))
        rows.append(("available", Self.mebibytes(availableBytes)))
        rows.append(("threads", "\(threads)"))
        rows.append(("model", TerminalSanitizer.sanitize(model, keepNewlines: false)))
        rows.append(("arch", TerminalSanitizer.sanitize(architecture, keepNewlines: false)))
        rows.append(("quant", quant))
        rows.append(("load", String(format: "%.0f ms", loadSeconds * 1000)))
        return rows
    }

    /// "ready", or how much of it is prepared ("40 %"); nil while no trim is planned.
    var nextTrimText: String? {
        guard let trim = nextTrim else { return nil }
        return trim.isReady ? "ready" : "\(trim.preparedTokens * 100 / max(1, trim.tokens)) %"
    }

    static func mebibytes(_ bytes: Int) -> String {
        bytes >= 10 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : "\(bytes >> 20) MiB"
    }

    /// The one-line summary for narrow screens (or with the pane hidden): items most important first,
    /// dropped from the end until the line fits `width`, so an 80-column SSH session keeps the key numbers.
    public func statusLine(width: Int) -> String {
        var items: [String] = []
        // The pane's names, so one figure has one name wherever it is shown.
        if let rate = decodeRate { items.append(String(format: "eval rate %.1f tok/s", rate)) }
        if let first {
            items.append(String(format: "prompt eval %.0f tok/s", first.promptTokensPerSecond))
            items.append(String(format: "first token %.0f ms", first.waitSeconds * 1000))
        }
        items.append("context \(contextUsed)/\(contextSize)" + (nextTrimText.map { " · next trim " + $0 } ?? ""))
        items.append("RSS \(rssBytes >> 20)/\(peakRSSBytes >> 20) MiB")
        items.append("\(threads) threads")
        items.append(quant)
        items.append(TerminalSanitizer.sanitize(model, keepNewlines: false))
        var line = ""
        for item in items where !item.isEmpty {
            let candidate = line.isEmpty ? item : line + " · " + item
            if DisplayWidth.of(candidate) > width { break }
            line = candidate
        }
        return line
    }

    /// The pane, `width` columns wide: the rows, then the two sparklines.
    public func paneLines(width: Int) -> [Transcript.Line] {
        var out = [Transcript.Line(runs: [StyledRun("stats", .heading)])]
        let labelWidth = 12
        for (label, value) in rows() {
            let padded = label + String(repeating: " ", count: max(1, labelWidth - label.count))
            let room = max(1, width - labelWidth)
            let shown = DisplayWidth.of(value) > room ? String(value.prefix(max(1, room - 1))) + "…" : value
            out.append(Transcript.Line(runs: [StyledRun(padded, .dim), StyledRun(shown, .body)]))
        }
        out.append(Transcript.Line(runs: []))
        out.append(Transcript.Line(runs: [StyledRun(busy ? "this reply (tok/s)" : "last reply (tok/s)", .dim)]))
        out.append(Transcript.Line(runs: [StyledRun(Sparkline.render(replyCurve, width: width), .sparkline)]))
        out.append(Transcript.Line(runs: [StyledRun("replies (tok/s)", .dim)]))
        out.append(Transcript.Line(runs: [StyledRun(Sparkline.render(replyRates, width: width), .sparkline)]))
        return out
    }
}
