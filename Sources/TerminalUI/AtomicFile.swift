import Foundation

/// Whole-file writes that are all-or-nothing: the bytes go to `PATH.partial`, are flushed to disk, then
/// renamed over `PATH`. A crash or a full disk leaves the previous file intact, never a half-written one.
public enum AtomicFile {
    public struct FileError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func write(_ text: String, to path: String) throws {
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(description: "\(path): cannot write (\(String(cString: strerror(errno))))") }
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw FileError(description: "\(path): write failed (\(reason))")
            }
            written += n
        }
        bytes.removeAll()
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FileError(description: "\(path): could not be saved (\(reason))")
        }
    }

    /// Creates `path` and its parents (mode 0700: chat logs are private).
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileError(description: "\(path): cannot create the folder (\(error.localizedDescription))")
        }
    }
}
