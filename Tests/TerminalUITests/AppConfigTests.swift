import Foundation
import TestSupport
import Inference
import XCTest
@testable import TerminalUI

final class AppConfigTests: XCTestCase {
    func testXDGLocation() {
        XCTAssertEqual(AppConfig.path(environment: ["XDG_CONFIG_HOME": "/c"]), "/c/qwentty/config")
        XCTAssertEqual(AppConfig.path(environment: ["HOME": "/h"]), "/h/.config/qwentty/config")
    }

    /// A config "file" that is a FIFO is said to be one (reading it would wait forever), and the defaults apply.
    func testAFIFOAsTheConfigIsNamed() throws {
        let path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-config-fifo-\(getpid())").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        let config = AppConfig.load(path: path)
        XCTAssertEqual(config.problems, ["\(path): is a FIFO, not a regular file; using the defaults"])
        XCTAssertNil(config.model)
    }

    func testSettingsAndProblems() {
        let config = AppConfig(parsing: """
            model = "/models/qwen2.5-0.5b-instruct-q8_0.gguf"
            theme = light
            threads = 4
            ctx_size = 8192
            temp = 0.2
            top_k = 40
            top_p = 2
            max_tokens = 2048
            max_tokens = 0
            system = "Line one.\\nLine two."
            mouse = off
            stats = no
            think = off
            threads = many
            colour = red
            """, source: "cfg")
        XCTAssertEqual(config.model, "/models/qwen2.5-0.5b-instruct-q8_0.gguf")
        XCTAssertEqual(config.theme, "light")
        XCTAssertEqual(config.threads, 4, "a bad later value does not erase the good one")
        XCTAssertEqual(config.contextSize, 8192)
        XCTAssertEqual(config.temperature, 0.2)
        XCTAssertEqual(config.sampling[.topK], 40)
        XCTAssertNil(config.sampling[.topP], "checked as /set checks it")
        XCTAssertEqual(config.maxTokens, 2048)
        XCTAssertEqual(config.systemPrompt, "Line one.\nLine two.")
        XCTAssertEqual(config.mouse, false)
        XCTAssertEqual(config.statsPane, false)
        XCTAssertEqual(config.thinking, false)
        XCTAssertEqual(config.problems, ["cfg: top_p: expected a number above 0 and at most 1 (1 disables), got 2",
                                         "cfg: max_tokens: expected a whole number of tokens, at least 1, got 0",
                                         "cfg: threads: expected 1…256, got many",
                                         "cfg: colour: unknown setting (known: model, theme, threads, ctx_size, temp, top_k, top_p, min_p, repeat_penalty, max_tokens, system, mouse, stats, think, context_cache)"])
        XCTAssertEqual(AppConfig.load(path: "/nonexistent/qwentty/config"), AppConfig(), "no file: defaults, no complaint")
    }
}
