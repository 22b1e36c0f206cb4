import Foundation
import TestSupport
import XCTest

/// A tmux server of the test's own (`-L`), running the built `qwentty` in one window: type, read the
/// screen, wait for what a person would wait for.
final class TmuxSession {
    let name: String
    private var session: String { name }

    init(name: String) { self.name = name }

    /// Runs a tmux command and returns its standard output.
    ///
    /// Spawned with posix_spawn and reaped with waitpid rather than Foundation's `Process`: tmux clients
    /// exit within milliseconds, and `Process.waitUntilExit()` was seen to miss such an exit and hang.
    /// Output goes to a temporary file, never a pipe: `new-session` starts the long-lived tmux server,
    /// which would inherit a pipe and keep it open forever.
    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let outputPath = TestPaths.temporaryDirectory.appendingPathComponent("\(session)-\(UUID().uuidString).out").path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // A server of our own (-L): the test never touches the user's tmux or its options.
        let argv = (["tmux", "-L", session] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawnp(&pid, "tmux", &actions, nil, argv, environ) == 0 else {
            throw XCTSkip("tmux could not be started")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    /// Gave up waiting: what for, how long, and the last screen seen.
    struct Timeout: Error, CustomStringConvertible {
        let description: String
    }

    /// Polls the screen until `condition` holds. The limits are generous (a loaded CI box runs the demo
    /// model many times slower than an idle one); on giving up it fails the test, naming what it waited
    /// for with the last screen, and throws, so later steps do not fail for the same cause.
    func waitFor(_ what: String, seconds: Double = 180, _ condition: (String) -> Bool) throws -> String {
        let started = Date()
        let deadline = started.addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let message = "gave up after \(Int(seconds)) s waiting for \(what); last screen:\n\(last)"
        XCTFail(message)
        throw Timeout(description: message)
    }

    /// The process id of the program running in the pane (the child of the pane's shell).
    func programPID() throws -> pid_t? {
        let shell = try tmux(["display-message", "-p", "-t", session, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").first.flatMap { pid_t($0) }
    }

    func start(_ arguments: String, environment: String, width: Int = 80, height: Int = 24) throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("qwentty").path
        try tmux(["kill-session", "-t", session])
        try tmux(["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)", "-c", TestPaths.packageRoot.path,
                  "env \(environment) TERM=xterm-256color \(binary) chat \(arguments); echo QWENTTY-EXITED $?; sleep 60"])
        // Killing the last session makes a tmux server exit, and a `new-session` that reaches it while it
        // is exiting is lost with it: the next start would then wait on an empty screen. Keep the server.
        try tmux(["set-option", "-s", "exit-empty", "off"])
    }

    func type(_ text: String) throws {
        try tmux(["send-keys", "-t", session, "-l", text])
        try tmux(["send-keys", "-t", session, "Enter"])
    }

}
