import Essentials
import Foundation
import Transformer

/// The used part of a chat's KV cache on disk, with what it was computed from, so a resumed chat maps it
/// back instead of prefilling every token again.
///
/// Layout (little-endian): a 64-byte header (magic, format, precision, the model's size and
/// fingerprint, the cache's shape, the token count, the tokens' fingerprint, the data's length), the
/// token ids (`Int32` each), the cache's pieces as `KVCache.storage(positions:)` gives them (F16 or F32,
/// as the cache holds them), and a trailer: the fingerprint of everything before it, piece by piece.
///
/// A cache file is only ever a shortcut: anything that does not match (another model file, precision or
/// layout, more tokens than the context holds, a truncated or damaged file, another format) is refused
/// with a `Problem` that says so in a few words, and the chat is rebuilt by prefill. The data is read
/// with `pread` straight into the cache's own memory, so resuming costs no second copy of it.
public struct ContextCacheFile {
    /// What a cache was computed from; a file is used only when all of it matches.
    public struct Identity: Equatable, Sendable {
        public let modelBytes: Int
        public let modelFingerprint: UInt64
        public let precision: KVCache.Precision
        public let layerCount: Int
        public let width: Int
        public let headCount: Int

        public init(modelBytes: Int, modelFingerprint: UInt64, precision: KVCache.Precision, layerCount: Int, width: Int, headCount: Int) {
            self.modelBytes = modelBytes
            self.modelFingerprint = modelFingerprint
            self.precision = precision
            self.layerCount = layerCount
            self.width = width
            self.headCount = headCount
        }

        /// The identity of `cache` filled by `model`.
        public init(model: LoadedModel, cache: KVCache) {
            self.init(modelBytes: model.source.byteCount, modelFingerprint: model.fingerprint, precision: cache.precision,
                      layerCount: cache.layerCount, width: cache.width, headCount: cache.headCount)
        }
    }

    /// Why a file was not used, as the chat's one-line note says it.
    public enum Problem: Error, CustomStringConvertible, Equatable {
        case unreadable(String)
        case notACache
        case otherFormat(Int)
        case otherModel
        case otherPrecision(KVCache.Precision)
        case otherLayout
        case tooLong(tokens: Int, contextSize: Int)
        /// Its tokens share nothing with the conversation's render (another system prompt, say).
        case otherChat
        case truncated
        case damaged

        public var description: String {
            switch self {
            case .unreadable(let why): return why
            case .notACache: return "is not a qwentty context cache"
            case .otherFormat(let n): return "was written in format \(n) by another qwentty version"
            case .otherModel: return "was computed by another model file"
            case .otherPrecision(let p): return "holds an \(p.rawValue.uppercased()) cache (--kv-cache \(p.rawValue) reads it)"
            case .otherLayout: return "has another cache layout than this model"
            case .tooLong(let tokens, let size): return "holds \(tokens) tokens, more than this \(size)-token context"
            case .otherChat: return "holds another conversation (another system prompt, or the chat was edited)"
            case .truncated: return "is truncated"
            case .damaged: return "is damaged (its checksum does not match)"
            }
        }
    }

    /// Where the prepared part of a chat's next trim (`ChatSession.preparedTrim`) is kept beside its
    /// context cache file `path`: in the same format, so it is checked the same way.
    public static func preparedTrimPath(besides path: String) -> String {
        (path.hasSuffix(".kv") ? String(path.dropLast(3)) : path) + preparedTrimSuffix
    }

    /// How a prepared trim's file name ends, in place of the context cache's `.kv`.
    public static let preparedTrimSuffix = ".next-trim.kv"

    static let magic: [UInt8] = Array("QWTYKV\u{0}\u{0}".utf8)
    static let format: UInt32 = 1
    static let headerBytes = 64

    public let path: String
    /// The tokens whose keys and values the file holds, positions 0 … count-1.
    public let tokens: [Int32]
    private let dataBytes: Int
    private let trailerOffset: Int

    /// Reads and checks the header and the tokens of `path` (not yet the data: `load` does).
    public init(path: String, expecting identity: Identity) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)  // a FIFO must not block the open
        guard fd >= 0 else {
            throw Problem.unreadable(errno == ENOENT ? "does not exist" : "cannot be read (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Problem.unreadable("cannot be read (\(String(cString: strerror(errno))))") }
        if let problem = RegularFile.problem(mode: info.st_mode) { throw Problem.unreadable(problem) }
        let size = Int(info.st_size)
        guard size >= Self.headerBytes else { throw size >= Self.magic.count ? Problem.truncated : Problem.notACache }
        var header = [UInt8](repeating: 0, count: Self.headerBytes)
        try header.withUnsafeMutableBytes { try Self.read(fd, into: $0, at: 0) }
        var reader = HeaderReader(bytes: header)
        guard Array(header[0 ..< 8]) == Self.magic else { throw Problem.notACache }
        reader.offset = 8
        let format = reader.u32()
        guard format == Self.format else { throw Problem.otherFormat(Int(format)) }
        let precision: KVCache.Precision = reader.u32() == 0 ? .f16 : .f32
        let modelBytes = reader.u64(), fingerprint = reader.u64()
        let layers = Int(reader.u32()), width = Int(reader.u32()), heads = Int(reader.u32()), count = Int(reader.u32())
        let tokensHash = reader.u64(), dataBytes = reader.u64()
        guard modelBytes == UInt64(identity.modelBytes), fingerprint == identity.modelFingerprint else { throw Problem.otherModel }
        guard precision == identity.precision else { throw Problem.otherPrecision(precision) }
        guard layers == identity.layerCount, width == identity.width, heads == identity.headCount else { throw Problem.otherLayout }
        let tokenBytes = 4 * count
        guard dataBytes <= UInt64(Int.max / 2), Self.headerBytes + tokenBytes + Int(dataBytes) + 8 == size else {
            throw Self.headerBytes + tokenBytes + Int(min(dataBytes, UInt64(Int.max / 2))) + 8 > size ? Problem.truncated : Problem.damaged
        }
        var tokens = [Int32](repeating: 0, count: count)
        try tokens.withUnsafeMutableBytes { try Self.read(fd, into: $0, at: Self.headerBytes) }
        guard tokens.withUnsafeBytes(Fingerprint.of) == tokensHash else { throw Problem.damaged }
        self.tokens = tokens.map { Int32(littleEndian: $0) }
        self.dataBytes = Int(dataBytes)
        trailerOffset = Self.headerBytes + tokenBytes + Int(dataBytes)
    }

    /// Reads the keys and values into `cache`, which then holds `tokens` (its count is set); on any
    /// problem the cache is left empty (count 0), since its memory may be half overwritten.
    public func load(into cache: KVCache) throws {
        guard tokens.count <= cache.contextSize else { throw Problem.tooLong(tokens: tokens.count, contextSize: cache.contextSize) }
        cache.truncate(to: 0)
        let pieces = cache.storage(positions: tokens.count)
        guard pieces.reduce(0, { $0 + $1.count }) == dataBytes else { throw Problem.otherLayout }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Problem.unreadable("cannot be read (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, RegularFile.problem(mode: info.st_mode) == nil, Int(info.st_size) == trailerOffset + 8 else {
            throw Problem.truncated  // changed since it was opened
        }
        var hash = Fingerprint()
        var header = [UInt8](repeating: 0, count: Self.headerBytes + 4 * tokens.count)
        try header.withUnsafeMutableBytes { try Self.read(fd, into: $0, at: 0) }
        hash.combine(header)
        var offset = header.count
        for piece in pieces {
            try Self.read(fd, into: piece, at: offset)
            hash.combine(UnsafeRawBufferPointer(piece))
            offset += piece.count
        }
        var trailer: UInt64 = 0
        try withUnsafeMutableBytes(of: &trailer) { try Self.read(fd, into: $0, at: offset) }
        guard UInt64(littleEndian: trailer) == hash.value else { throw Problem.damaged }
        cache.count = tokens.count
    }

    /// Writes `cache`'s first `tokens.count` positions (which must hold `tokens`) to `path`, atomically
    /// and without waiting for the disk (a cache lost in a crash is recomputed). Between pieces
    /// `interrupt` may stop it (`ForwardError.interrupted`; nothing is left behind). Returns the bytes written.
    @discardableResult
    public static func write(_ cache: KVCache, tokens: [Int32], identity: Identity, to path: String,
                             interrupt: () -> Bool = { false }) throws -> Int {
        let count = min(tokens.count, cache.count)
        let pieces = cache.storage(positions: count)
        let dataBytes = pieces.reduce(0) { $0 + $1.count }
        let held = Array(tokens.prefix(count)).map(\.littleEndian)
        var header = HeaderWriter()
        header.bytes += magic
        header.u32(format)
        header.u32(identity.precision == .f16 ? 0 : 1)
        header.u64(UInt64(identity.modelBytes))
        header.u64(identity.modelFingerprint)
        header.u32(UInt32(identity.layerCount))
        header.u32(UInt32(identity.width))
        header.u32(UInt32(identity.headCount))
        header.u32(UInt32(count))
        header.u64(held.withUnsafeBytes(Fingerprint.of))
        header.u64(UInt64(dataBytes))
        let head = header.bytes + held.withUnsafeBytes { Array($0) }
        let writer = try AtomicFile.Writer(path: path)
        var hash = Fingerprint()
        hash.combine(head)
        try writer.write(head)
        for piece in pieces {
            if interrupt() { throw ForwardError.interrupted }
            hash.combine(UnsafeRawBufferPointer(piece))
            try writer.write(UnsafeRawBufferPointer(piece))
        }
        try withUnsafeBytes(of: hash.value.littleEndian) { try writer.write($0) }
        try writer.commit(durable: false)
        return head.count + dataBytes + 8
    }

    private static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw Problem.unreadable("cannot be read (\(String(cString: strerror(errno))))") }
            guard n > 0 else { throw Problem.truncated }
            done += n
        }
    }

    private struct HeaderReader {
        let bytes: [UInt8]
        var offset = 0
        mutating func u32() -> UInt32 {
            defer { offset += 4 }
            return (0 ..< 4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
        mutating func u64() -> UInt64 {
            defer { offset += 8 }
            return (0 ..< 8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
        }
    }

    private struct HeaderWriter {
        var bytes: [UInt8] = []
        mutating func u32(_ v: UInt32) { bytes += (0 ..< 4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        mutating func u64(_ v: UInt64) { bytes += (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    }
}
