#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Essentials

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
        if let problem = RegularFile.problem(mode: info.st_mode) {
            throw ModelFileError(path: path, field: "file", problem: problem)
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

    /// Gives the pages read so far back to the system: the mapping stays valid, and a later read loads
    /// them from the file again. For weights that were copied out in another form (`--quant`), whose
    /// file pages would otherwise count in the resident memory for the rest of the run.
    public func releasePages() {
        releasePages(offset: 0, count: bytes.count)
    }

    /// `releasePages` for the whole pages inside `offset ..< offset + count` (pages shared with bytes
    /// outside it stay).
    public func releasePages(offset: Int, count: Int) {
        let page = max(1, Int(sysconf(Int32(_SC_PAGESIZE))))
        let start = (max(0, offset) + page - 1) / page * page, end = min(bytes.count, offset + count) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// Reads one byte of every page, reporting the fraction done, so the weights are in memory before
    /// the first token. On a cold disk this is the real load time, better shown as a progress bar than
    /// hidden in a slow first reply. Returns a checksum only so the reads cannot be optimised away.
    @discardableResult
    public func touchAllPages(progress: (Double) -> Void) -> UInt8 {
        let page = max(1, Int(sysconf(Int32(_SC_PAGESIZE))))
        let total = bytes.count
        _ = madvise(UnsafeMutableRawPointer(mutating: base), total, MADV_WILLNEED)
        var sum: UInt8 = 0
        var offset = 0
        while offset < total {
            let end = min(total, offset + (8 << 20))
            for p in stride(from: offset, to: end, by: page) { sum &+= bytes[p] }
            offset = end
            progress(Double(offset) / Double(total))
        }
        return sum
    }
}
