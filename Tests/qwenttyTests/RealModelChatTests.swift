import Foundation
import TestSupport
import XCTest

/// The chat screen on the real model: a message sent right after a long reply is answered without
/// waiting for any badge (that reply's, being computed in the background, nor its own, which follows).
final class RealModelChatTests: XCTestCase {
    struct Missing: Error, CustomStringConvertible { let description: String }

    /// The value of a stats-pane row ("first token   812 ms" → "812 ms"), from the right-hand pane.
    private func paneValue(_ label: String, in screen: String) -> String? {
        for line in screen.split(separator: "\n") {
            guard let bar = line.lastIndex(of: "│") else { continue }
            let pane = line[line.index(after: bar)...]
            if pane.hasPrefix(label + " ") { return pane.dropFirst(label.count).trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// The first number in `text` ("412 tok/s · 45 ms" → 412; the last with `last`).
    private func milliseconds(_ text: String?) -> Double? {
        guard let text, let range = text.range(of: #"[0-9]+ ms"#, options: .regularExpression) else { return nil }
        return Double(text[range].dropLast(3))
    }

    func testMessageRightAfterALongReplyIsNotHeldUp() throws {
        if let problem = TestPaths.realModelProblem { throw Missing(description: problem) }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw Missing(description: "needs tmux (/usr/bin/tmux); .ci/run installs it")
        }
        let terminal = TmuxSession(name: "qwentty-real-\(getpid())")
        let home = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-real-\(getpid())").path
        try FileManager.default.createDirectory(atPath: home + "/config", withIntermediateDirectories: true)
        defer {
            try? terminal.tmux(["kill-server"])
            try? FileManager.default.removeItem(atPath: home)
        }
        try terminal.start("-m \(TestPaths.realModel) --temp 0", environment: "XDG_STATE_HOME=\(home)/state XDG_CACHE_HOME=\(home)/cache XDG_CONFIG_HOME=\(home)/config",
                           width: 160, height: 60)
        _ = try terminal.waitFor("the start screen", seconds: 120) { $0.contains("Enter sends") && $0.contains("eval rate") }
        try terminal.type("Write a Python class that implements a hash map with separate chaining, with put, get, remove and resize methods and a docstring for each.")
        // Finished: the token counts are shown and the live marker (●) is gone.
        var screen = try terminal.waitFor("the long reply to finish", seconds: 600) {
            self.paneValue("tokens", in: $0)?.hasSuffix("out") == true && self.paneValue("eval rate", in: $0)?.contains("●") == false
        }
        let firstTokens = paneValue("tokens", in: screen)
        let replyTokens = Int(firstTokens?.components(separatedBy: "· ").last?.components(separatedBy: " ").first ?? "") ?? 0
        XCTAssertGreaterThan(replyTokens, 150, "a long reply: \(firstTokens ?? "?")")

        // At once, while that reply's badge (a 128-token window) is being computed in the background.
        try terminal.type("Thanks, that was clear.")
        screen = try terminal.waitFor("the second reply to finish", seconds: 300) {
            self.paneValue("tokens", in: $0) != firstTokens && self.paneValue("tokens", in: $0)?.hasSuffix("out") == true
                && self.milliseconds(self.paneValue("first token", in: $0)) != nil
        }
        let wait = try XCTUnwrap(milliseconds(paneValue("first token", in: screen)), screen)
        let prefill = try XCTUnwrap(milliseconds(paneValue("prompt eval", in: screen)), screen)
        print("after a \(replyTokens)-token reply: first token \(wait) ms = prefill \(prefill) ms + \(wait - prefill) ms")
        XCTAssertLessThanOrEqual(wait, prefill + 50, "Enter → first token waited for something else (a badge?):\n\(screen)")
        // Its badge comes after the reply, on its header line: "you  [Positive 97%] 412 ms".
        screen = try terminal.waitFor("the message's badge", seconds: 120) { screen in
            guard let last = screen.split(separator: "\n").last(where: { $0.hasPrefix("you  ") }) else { return false }
            return last.hasPrefix("you  [") && self.milliseconds(String(last.prefix { $0 != "│" })) != nil
        }
        try terminal.tmux(["send-keys", "-t", terminal.name, "C-d"])
        _ = try terminal.waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
    }
}
