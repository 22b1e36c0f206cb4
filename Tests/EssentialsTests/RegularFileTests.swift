import Foundation
import TestSupport
import XCTest
@testable import Essentials

/// What a path is, in the words an error needs: a FIFO, a folder or a missing file where a file is expected.
final class RegularFileTests: XCTestCase {
    func testEachKindIsNamed() throws {
        let directory = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-regular-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "x".write(toFile: directory + "/file", atomically: false, encoding: .utf8)
        XCTAssertEqual(mkfifo(directory + "/fifo", 0o600), 0)
        XCTAssertNil(RegularFile.problem(at: directory + "/file"))
        XCTAssertEqual(RegularFile.problem(at: directory + "/fifo"), "is a FIFO, not a regular file")
        XCTAssertEqual(RegularFile.problem(at: directory), "is a folder, not a regular file")
        XCTAssertEqual(RegularFile.problem(at: directory + "/missing"), "does not exist")
        XCTAssertEqual(RegularFile.problem(at: directory + "/file/below"), "does not exist")
        XCTAssertEqual(RegularFile.problem(at: "/dev/null"), "is a device, not a regular file")
    }
}
