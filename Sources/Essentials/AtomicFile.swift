import Foundation

/// Whole-file writes that are all-or-nothing: the bytes go to `PATH.partial`, are flushed to disk, then
/// renamed over `PATH`. A crash or a full disk leaves the previous file intact, never a half-written one.
/// Saved chats use `write`; a GGUF file, too large to hold twice, streams through a `Writer`.
public enum AtomicFile {
    public struct FileError: Error, CustomStringConvertible {
        public var description: String
        /// What went wrong, without the path (for callers that name the file their own way).
        public var reason: String
        public init(description: String) {
            self.description = description
            reason = description
        }
        init(path: String, reason: String) {
            description = "\(path): \(reason)"
            self.reason = reason
        }
    }

    /// A file written in pieces under its temporary name; `commit()` puts it in place. A writer given
    /// up (deinit without `commit`) removes its temporary file.
    public final class Writer {
        public let path: String
        private let temporary: String
        private var fd: Int32
        private var committed = false

        public init(path: String) throws {
            self.path = path
            temporary = path + ".partial"
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileError(path: path, reason: "cannot write (\(String(cString: strerror(errno))))") }
        }

        deinit {
            if fd >= 0 { close(fd) }
            if !committed { unlink(temporary) }
        }

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var written = 0
            while written < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw FileError(path: path, reason: "write failed (\(String(cString: strerror(errno))))") }
                written += n
            }
        }

        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        /// Flushes the bytes to disk and renames the file into place. `durable: false` skips the flush, for
        /// a cache that checks its own contents and can be recomputed: the rename still makes it
        /// all-or-nothing for readers, and the writer never waits on the disk.
        public func commit(durable: Bool = true) throws {
            let synced = !durable || fsync(fd) == 0
            let reason = String(cString: strerror(errno))
            close(fd)
            fd = -1
            guard synced else { throw FileError(path: path, reason: "could not be saved (\(reason))") }
            guard rename(temporary, path) == 0 else {
                throw FileError(path: path, reason: "could not be saved (\(String(cString: strerror(errno))))")
            }
            committed = true
        }
    }

    public static func write(_ text: String, to path: String) throws {
        let writer = try Writer(path: path)
        try writer.write(Array(text.utf8))
        try writer.commit()
    }

    /// Creates `path` and its parents (mode 0700: chat logs are private).
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileError(path: path, reason: "cannot create the folder (\(error.localizedDescription))")
        }
    }
}
