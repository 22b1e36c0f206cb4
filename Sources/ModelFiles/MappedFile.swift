#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file.
///
/// Model weights stay in the page cache and are shared with other processes reading the same file;
/// nothing is copied at load, so a 500 MB model "loads" in milliseconds and RSS grows only with the
/// pages a forward pass actually touches.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    /// Start of the mapping (never null: empty files are refused, and mmap of a non-empty file either
    /// succeeds or throws).
    public let base: UnsafeRawPointer

    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; it is then
        // refused below like any other file that is not a regular one.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            throw ModelFileError(path: path, field: "file", problem: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ModelFileError(path: path, field: "file", problem: "cannot stat (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            let kind: String
            switch info.st_mode & S_IFMT {
            case S_IFIFO: kind = "a FIFO"
            case S_IFCHR, S_IFBLK: kind = "a device"
            case S_IFSOCK: kind = "a socket"
            default: kind = "not a regular file"
            }
            throw ModelFileError(path: path, field: "file", problem: kind == "not a regular file" ? kind : "\(kind), not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            throw ModelFileError(path: path, field: "file", problem: "file is empty")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw ModelFileError(path: path, field: "file", problem: "cannot memory-map (\(String(cString: strerror(errno))))")
        }
        self.base = UnsafeRawPointer(base)
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
    }
}
