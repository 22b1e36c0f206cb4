import TestSupport
import XCTest
@testable import TerminalUI

final class KeyValueFileTests: XCTestCase {
    func testParsesQuotedAndBareValuesAndReportsBadLines() {
        let file = KeyValueFile(parsing: "# comment\n\nuser = \"#FF0000\"\r\nTHEME=light\nnot a setting\nx = \"open\n = 1\n")
        XCTAssertEqual(file["user"], "#FF0000")
        XCTAssertEqual(file["theme"], "light", "keys are case-insensitive")
        XCTAssertEqual(file.problems.map(\.line), [5, 6, 7])
        XCTAssertEqual(file.problems.map(\.message), ["expected `key = value`", "unterminated quote", "bad key"])
    }
}

final class ThemeTests: XCTestCase {
    private let shipped = ThemeLibrary(directories: [TestPaths.packageRoot.appendingPathComponent("themes").path])

    func testShippedThemesParseAndNameEveryElement() throws {
        XCTAssertEqual(shipped.names(), ["16-colour", "dark", "high-contrast", "light", "mono"])
        for name in shipped.names() {
            let theme = try shipped.load(name)
            let text = try String(contentsOfFile: shipped.directories[0] + "/\(name).theme", encoding: .utf8)
            let keys = Set(KeyValueFile(parsing: text).entries.map(\.key))
            XCTAssertEqual(keys, Set(Theme.Element.allCases.map(\.rawValue)), "\(name) sets every element")
            if name == "mono" { XCTAssertTrue(theme.colors.isEmpty) }
        }
        XCTAssertEqual(try shipped.load("dark"), Theme.builtInDefault, "the built-in default is dark.theme")
    }

    func testSixteenColourThemeMapsExactlyToAnsi() throws {
        let theme = try shipped.load("16-colour")
        for (element, rgb) in theme.colors {
            let index = try XCTUnwrap(ColorDepth.ansi16.colorNumber(for: rgb))
            XCTAssertEqual(ColorDepth.ansiPalette[index], rgb, "\(element) is one of the 16 colours")
        }
        // Drawn with ANSI numbers on every colour terminal (ESC[33m, not xterm-256 entry 184), so the
        // user's own terminal palette applies; other themes keep the terminal's depth.
        for depth in [ColorDepth.ansi16, .xterm256, .trueColor] { XCTAssertEqual(depth.depth(for: theme), .ansi16) }
        XCTAssertEqual(ColorDepth.ansi8.depth(for: theme), .ansi8)
        XCTAssertEqual(ColorDepth.xterm256.depth(for: try shipped.load("dark")), .xterm256)
        XCTAssertEqual(ColorDepth.trueColor.depth(for: try shipped.load("light")), .trueColor)
    }

    func testBadThemeListsEveryProblem() {
        XCTAssertThrowsError(try Theme(name: "broken", parsing: "user = \"#12345\"\nbackground = \"#000000\"\nnonsense\n")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("theme broken: "), text)
            XCTAssertTrue(text.contains("user: #12345 is not a #RRGGBB colour"), text)
            XCTAssertTrue(text.contains("unknown key background"), text)
            XCTAssertTrue(text.contains("line 3: expected `key = value`"), text)
            XCTAssertFalse(text.contains("\n"), "one line")
        }
    }

    func testMissingThemeNamesTheAvailableOnes() {
        XCTAssertThrowsError(try shipped.load("solarized")) { error in
            XCTAssertEqual("\(error)", "theme solarized: no solarized.theme found (available: 16-colour, dark, high-contrast, light, mono)")
        }
        XCTAssertThrowsError(try shipped.load("../etc/passwd"), "a theme name is not a path")
    }

    func testUserThemesShadowShippedOnes() throws {
        let dir = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-themes-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "user = \"#010203\"\n".write(toFile: dir + "/dark.theme", atomically: false, encoding: .utf8)
        let library = ThemeLibrary(directories: [dir] + shipped.directories)
        XCTAssertEqual(try library.load("dark").colors, [.user: Theme.RGB(1, 2, 3)])
    }
}

final class ColorDepthTests: XCTestCase {
    func testDetection() {
        XCTAssertEqual(ColorDepth.detect(colors: 1 << 24, hasColors: true, noColor: false), .trueColor)
        XCTAssertEqual(ColorDepth.detect(colors: 256, hasColors: true, noColor: false), .xterm256)
        XCTAssertEqual(ColorDepth.detect(colors: 16, hasColors: true, noColor: false), .ansi16)
        XCTAssertEqual(ColorDepth.detect(colors: 8, hasColors: true, noColor: false), .ansi8)
        XCTAssertEqual(ColorDepth.detect(colors: 256, hasColors: true, noColor: true), .mono, "NO_COLOR wins")
        XCTAssertEqual(ColorDepth.detect(colors: 0, hasColors: false, noColor: false), .mono)
    }

    func testMapping() {
        let orange = Theme.RGB(0xFF, 0x87, 0x00)
        XCTAssertEqual(ColorDepth.trueColor.colorNumber(for: orange), 0xFF8700)
        XCTAssertEqual(ColorDepth.xterm256.colorNumber(for: orange), 208, "xterm's own orange")
        XCTAssertEqual(ColorDepth.xterm256.colorNumber(for: Theme.RGB(0x80, 0x80, 0x80)), 244, "grey ramp")
        XCTAssertEqual(ColorDepth.xterm256.colorNumber(for: Theme.RGB(0, 0, 0)), 16, "never the redefinable 0…15")
        XCTAssertEqual(ColorDepth.ansi16.colorNumber(for: Theme.RGB(250, 10, 10)), 9, "bright red")
        XCTAssertEqual(ColorDepth.ansi8.colorNumber(for: Theme.RGB(250, 10, 10)), 1, "red")
        XCTAssertNil(ColorDepth.mono.colorNumber(for: orange))
        // Every cube colour maps to itself.
        for (i, rgb) in ColorDepth.xterm256Palette.enumerated() {
            XCTAssertEqual(ColorDepth.xterm256.colorNumber(for: rgb), 16 + i)
        }
    }
}
