import Foundation
import TestSupport
import XCTest

/// The chat screen driven in tmux, as a person would: 80×24, type, watch, cancel, resize, quit.
final class ChatScreenTests: XCTestCase {
    private let session = "qwentty-e2e-\(getpid())"

    /// Runs a tmux command. Only `capture` reads output through a pipe: a command that starts the tmux
    /// server (new-session) would hand the pipe to the long-lived server, and reading it would never end.
    @discardableResult
    private func tmux(_ arguments: [String], capture: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux"] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard capture else {
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return ""
        }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    private func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session], capture: true) }

    /// Polls the screen until `condition` holds (or fails after `seconds`).
    private func waitFor(_ what: String, seconds: Double = 60, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("timed out waiting for \(what); screen:\n\(last)")
        return last
    }

    func testChatInTmux() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("needs tmux (/usr/bin/tmux); .ci/run installs it")
        }
        let binary = Bundle.main.bundleURL.appendingPathComponent("qwentty").path
        let root = TestPaths.packageRoot.path
        try tmux(["kill-session", "-t", session])
        try tmux(["new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", root,
                      "TERM=xterm-256color \(binary) chat --seed 1; echo QWENTTY-EXITED $?; sleep 60"])
        defer { try? tmux(["kill-session", "-t", session]) }

        _ = try waitFor("the start screen") { $0.contains("Enter sends") && $0.contains("demo model") }
        try tmux(["send-keys", "-t", session, "-l", "Hello there"])
        try tmux(["send-keys", "-t", session, "Enter"])
        // The user's badge, the streamed reply and the stats line.
        var s = try waitFor("a sentiment badge and a reply") { $0.contains("you  [") && $0.contains("qwen") && $0.contains("decode") }
        XCTAssertTrue(s.contains("Hello there"))
        s = try waitFor("the reply to finish", seconds: 120) { !$0.contains("●") && $0.contains("TTFT") }
        XCTAssertTrue(s.contains("prefill"), s)

        // Cancel a reply with Esc: it is marked as cut.
        try tmux(["send-keys", "-t", session, "-l", "Tell me more"])
        try tmux(["send-keys", "-t", session, "Enter"])
        _ = try waitFor("the second reply to stream") { $0.contains("●") && $0.components(separatedBy: "qwen").count > 2 }
        try tmux(["send-keys", "-t", session, "Escape"])
        s = try waitFor("the cut marker") { $0.contains("(cut)") }

        // Too small, then enlarged again: a message, then the chat comes back.
        try tmux(["resize-window", "-t", session, "-x", "30", "-y", "6"])
        _ = try waitFor("the too-small message") { $0.contains("Terminal too small") }
        try tmux(["resize-window", "-t", session, "-x", "100", "-y", "30"])
        s = try waitFor("the chat after enlarging") { $0.contains("Hello there") && $0.contains("ctx ") }

        // Ctrl-D quits cleanly: the process exits 0 and the shell line shows.
        try tmux(["send-keys", "-t", session, "C-d"])
        s = try waitFor("a clean exit") { $0.contains("QWENTTY-EXITED 0") }
        XCTAssertFalse(s.contains("ctx "), "the chat screen is gone after exit (terminal restored)")
    }
}
