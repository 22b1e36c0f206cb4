import Foundation

/// The one temporary folder of a test run: every file a test writes goes under it (through
/// `TestPaths.temporaryDirectory`), and it is removed, with whatever a failing test left in it, when the
/// test process exits. Repeated runs on a small box do not fill its temporary directory.
enum TestRunFolder {
    /// Made on first use; `atexit` removes it (a C callback cannot capture, so the path is a global).
    static let url: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qwentty-test-run-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // The tmux tests' servers put their sockets here too (tmux-UID/), not in the system's folder.
        setenv("TMUX_TMPDIR", url.path, 1)
        runFolderPath = strdup(url.path)
        atexit {
            guard let path = runFolderPath else { return }
            try? FileManager.default.removeItem(atPath: String(cString: path))
        }
        return url
    }()
}

/// `TestRunFolder.url`'s path, for the exit handler.
nonisolated(unsafe) private var runFolderPath: UnsafeMutablePointer<CChar>?
