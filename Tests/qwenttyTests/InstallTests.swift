import Essentials
import Foundation
import TestSupport
import Essentials
import XCTest

/// `scripts/install.sh` into a scratch prefix, then the installed binary used from another directory:
/// it must find its demo model and themes without the checkout.
final class InstallTests: XCTestCase {
    private func run(_ executable: String, _ arguments: [String], in directory: URL) throws -> ProcessOutput {
        try ProcessOutput.run(URL(fileURLWithPath: executable), arguments, in: directory)
    }

    func testInstalledBinaryRunsFromAnyDirectory() throws {
        let scratch = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-install-\(getpid())")
        try? FileManager.default.removeItem(at: scratch)
        let prefix = scratch.appendingPathComponent("prefix").path
        let elsewhere = scratch.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        // The binary `swift test` built (the same code; installing it spares a second release build).
        let built = Bundle.main.bundleURL.appendingPathComponent("qwentty").path
        let install = try run("/bin/bash", ["scripts/install.sh", "--binary", built, prefix], in: TestPaths.packageRoot)
        XCTAssertEqual(install.status, 0, install.stderr)
        XCTAssertTrue(install.stdout.contains("installed qwentty 0.5.0 in \(prefix)"), install.stdout)

        let qwentty = prefix + "/bin/qwentty"
        let version = try run(qwentty, ["--version"], in: elsewhere)
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.5.0")
        // No -m and no ./models here: the installed demo model is found.
        let info = try run(qwentty, ["info"], in: elsewhere)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains(prefix + "/share/qwentty/models/qwentty-demo"), info.stdout)
        let reply = try run(qwentty, ["run", "-p", "hi", "-n", "3", "--temp", "0"], in: elsewhere)
        XCTAssertEqual(reply.status, 0, reply.stderr)
        XCTAssertTrue(reply.stderr.contains("eval: 3 tokens"), reply.stderr)
        for theme in ["dark", "light", "16-colour"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: prefix + "/share/qwentty/themes/\(theme).theme"), theme)
        }
        for (path, marker) in [("share/bash-completion/completions/qwentty", "complete"), ("share/zsh/site-functions/_qwentty", "#compdef"),
                               ("share/fish/vendor_completions.d/qwentty.fish", "complete")] {
            let text = (try? String(contentsOfFile: prefix + "/" + path, encoding: .utf8)) ?? ""
            XCTAssertTrue(text.contains(marker) && text.contains("qwentty"), "\(path): \(text.prefix(200))")
        }
    }

    /// The installed layout and a checkout's build folder both lead to the shipped files.
    func testShippedFilesAreFoundBesideTheBinary() {
        XCTAssertEqual(ShippedFiles.directories("themes", executable: "/opt/q/bin/qwentty"), ["/opt/q/share/qwentty/themes"])
        XCTAssertEqual(ShippedFiles.directories("models", executable: "/w/qwentty/.build/x86_64-unknown-linux-gnu/release/qwentty"),
                       ["/w/qwentty/.build/x86_64-unknown-linux-gnu/share/qwentty/models", "/w/qwentty/models"])
        XCTAssertEqual(ShippedFiles.directories("themes", executable: "/w/q/.build-test/release/qwentty").last, "/w/q/themes")
    }
}
