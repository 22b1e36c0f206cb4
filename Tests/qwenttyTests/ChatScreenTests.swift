import Foundation
import TestSupport
import XCTest

/// The chat screen driven in tmux, as a person would: 80×24, type, watch, cancel, resize, quit.
final class ChatScreenTests: XCTestCase {
    private let session = "qwentty-e2e-\(getpid())"

    /// Runs a tmux command and returns its standard output.
    ///
    /// Spawned with posix_spawn and reaped with waitpid rather than Foundation's `Process`: tmux clients
    /// exit within milliseconds, and `Process.waitUntilExit()` was seen to miss such an exit and hang.
    /// Output goes to a temporary file, never a pipe: `new-session` starts the long-lived tmux server,
    /// which would inherit a pipe and keep it open forever.
    @discardableResult
    private func tmux(_ arguments: [String]) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(session)-\(UUID().uuidString).out").path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawnp(&pid, "tmux", &actions, nil, argv, environ) == 0 else {
            throw XCTSkip("tmux could not be started")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    private func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

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
