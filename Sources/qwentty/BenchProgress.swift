import Foundation

/// What `bench` is doing, on stderr: a run takes minutes (five repetitions of pp512 and tg128 on a small
/// box), and a silent one looks hung. On a terminal it is one line rewritten in place and cleared at the
/// end; otherwise (a log, a script reading stdout) one line per finished test, so the log shows
/// progress without carriage returns.
final class BenchProgress {
    private let tests: Int
    private let repetitions: Int
    private let interactive = isatty(STDERR_FILENO) == 1
    private var finishedTests = 0

    init(tests: Int, repetitions: Int) {
        self.tests = tests
        self.repetitions = repetitions
    }

    func say(_ text: String) {
        if interactive { writeErr("\r\u{1B}[K" + text + "…") } else { writeErr(text + "…\n") }
    }

    func test(_ name: String, repetition: Int) {
        guard interactive else { return }
        writeErr("\r\u{1B}[K" + "test \(finishedTests + 1)/\(tests): \(name), repetition \(repetition + 1)/\(repetitions)")
    }

    func finished(_ result: BenchCommand.Result) {
        finishedTests += 1
        guard !interactive else { return }
        writeErr("test \(finishedTests)/\(tests): \(result.test) " + String(format: "%.2f t/s (median)\n", result.median))
    }

    func done() {
        if interactive { writeErr("\r\u{1B}[K") }
    }
}
