import Essentials
import Foundation

// What the fatal-signal handler needs, kept where a signal handler may read it: plain globals holding
// bytes prepared in advance (a handler may call only async-signal-safe functions: `write`, `tcsetattr`,
// `signal`, `raise`; no allocation, no locks, no Swift strings).
nonisolated(unsafe) private var savedModes = termios()
nonisolated(unsafe) private var haveSavedModes = false
nonisolated(unsafe) private var resetBytes: UnsafeMutableBufferPointer<UInt8>?
nonisolated(unsafe) private var crashLine: UnsafeMutableBufferPointer<UInt8>?

/// Puts the terminal back when qwentty dies of a fatal signal (a trap in Swift code is a SIGILL or
/// SIGTRAP; a bad access SIGSEGV or SIGBUS): without it, a crash leaves the alternate screen, a hidden
/// cursor, mouse reporting, bracketed paste and raw tty modes on, which over SSH means a `reset` the user
/// may not know to type. The handler restores the tty modes saved at start, writes the sequences that undo
/// what the chat turned on, says in one line that qwentty crashed and where the chat was saved, then lets
/// the signal's default action run (the exit status and any core dump are as without it).
enum TerminalRestorer {
    static let fatalSignals = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE]

    /// Leave the alternate screen, reset attributes, show the cursor, mouse reporting and bracketed paste off.
    static let resetSequence = "\u{1B}[?2004l\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1003l\u{1B}[?1006l\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l\r\n"

    /// Saves the tty modes (call before curses changes them) and installs the handler.
    static func install() {
        haveSavedModes = tcgetattr(0, &savedModes) == 0
        resetBytes = resetBytes ?? copy(resetSequence)
        setSavedChat(nil)
        for sig in fatalSignals {
            signal(sig) { sig in
                if haveSavedModes { _ = tcsetattr(0, TCSANOW, &savedModes) }
                if let bytes = resetBytes { _ = write(1, bytes.baseAddress, bytes.count) }
                if let line = crashLine { _ = write(2, line.baseAddress, line.count) }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }

    /// The handler's line names where the chat is saved (nil: not saved yet).
    static func setSavedChat(_ path: String?) {
        let text = "qwentty crashed; the terminal was restored. "
            + (path.map { "The chat is saved in \(TerminalSanitizer.display($0, keepNewlines: false)): `qwentty --resume` continues it.\r\n" }
                ?? "The chat had not been saved yet.\r\n")
        // The old line is left allocated: a signal arriving now may still be reading it.
        crashLine = copy(text)
    }

    /// The default actions again (the chat has left; the terminal is curses' no more).
    static func uninstall() {
        for sig in fatalSignals { signal(sig, SIG_DFL) }
    }

    private static func copy(_ text: String) -> UnsafeMutableBufferPointer<UInt8> {
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = buffer.initialize(from: bytes)
        return buffer
    }
}
