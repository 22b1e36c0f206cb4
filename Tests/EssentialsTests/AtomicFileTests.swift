import Foundation
import TestSupport
import XCTest
@testable import Essentials

final class AtomicFileTests: XCTestCase {
    private let scratch = ScratchDirectory("atomic")
    private var directory: String { scratch.path }

    override func tearDown() {
        scratch.remove()
    }

    func testAtomicWriteFailureLeavesTheOldFile() throws {
        try AtomicFile.makeDirectory(directory)
        let path = directory + "/keep.md"
        try AtomicFile.write("old", to: path)
        XCTAssertThrowsError(try AtomicFile.write("new", to: directory + "/missing/dir/file.md")) { error in
            XCTAssertTrue("\(error)".contains("missing/dir/file.md: cannot write"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old")
    }

    /// A writer given up before `commit` leaves no file behind, under either name.
    func testAnAbandonedWriterLeavesNothing() throws {
        try AtomicFile.makeDirectory(directory)
        let path = directory + "/model.gguf"
        do {
            let writer = try AtomicFile.Writer(path: path)
            try writer.write([1, 2, 3])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        let writer = try AtomicFile.Writer(path: path)
        try writer.write([1, 2, 3])
        try writer.commit()
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data([1, 2, 3]))
    }
}
