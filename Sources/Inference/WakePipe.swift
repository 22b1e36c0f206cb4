import Foundation

/// A self-pipe: another thread calls `wake()`, and the UI's `poll()` on `readDescriptor` returns. Both ends
/// are non-blocking, so a waker never blocks on a full pipe and `drain()` never waits.
public final class WakePipe: @unchecked Sendable {
    public let readDescriptor: Int32
    private let writeDescriptor: Int32

    public struct PipeError: Error, CustomStringConvertible {
        public var description: String { "cannot create a pipe (\(String(cString: strerror(errno))))" }
    }

    public init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PipeError() }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    public func wake() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Empties the pipe, so the next `poll()` waits for the next `wake()`.
    public func drain() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while read(readDescriptor, &scratch, scratch.count) > 0 {}
    }
}
