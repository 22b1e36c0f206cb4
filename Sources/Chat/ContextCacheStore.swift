import Essentials
import Foundation
import Inference

/// Where saved chats' context caches are kept: `$XDG_CACHE_HOME/qwentty/contexts/` (by default
/// `~/.cache/qwentty/contexts/`), one `ContextCacheFile` per saved chat, named after the chat's file. It is
/// a cache in the XDG sense: deleting the folder loses nothing but the time a resume then takes.
///
/// The folder has a size budget: after each write the oldest files go until it fits, and a file whose chat
/// is gone (deleted with `/delete` or by hand) goes first.
public struct ContextCacheStore: Sendable {
    public let directory: String
    /// Bytes the folder may hold (`context_cache_budget` in the config).
    public var budget: Int

    public static let defaultBudget = 2 << 30

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, budget: Int = Self.defaultBudget) {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache"
        self.init(directory: cache + "/qwentty/contexts", budget: budget)
    }

    public init(directory: String, budget: Int = Self.defaultBudget) {
        self.directory = directory
        self.budget = budget
    }

    /// The cache file of the chat saved at `sessionPath`.
    public func path(forSession sessionPath: String) -> String {
        let name = ((sessionPath as NSString).lastPathComponent as NSString).deletingPathExtension
        return directory + "/" + name + ".kv"
    }

    /// Makes the folder, so the engine can write the chat's cache file into it.
    public func prepare() throws {
        try AtomicFile.makeDirectory(directory)
    }

    /// Removes the cache of the chat saved at `sessionPath` (its chat was deleted), and its prepared trim,
    /// if there are any.
    public func remove(forSession sessionPath: String) {
        let path = path(forSession: sessionPath)
        unlink(path)
        unlink(ContextCacheFile.preparedTrimPath(besides: path))
    }

    /// The saved chat a file in the folder belongs to: its name less `.kv` (or a prepared trim's ending).
    private static func stem(of name: String) -> String {
        for suffix in [ContextCacheFile.preparedTrimSuffix, ".kv"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    /// Brings the folder within the budget: files of chats no longer in `sessions` first, then the
    /// least recently written, never `keeping` (the one just written) nor its prepared trim. Returns the
    /// paths removed.
    @discardableResult
    public func evict(keeping: String?, sessions: SessionStore?) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let kept = keeping.map { [$0, ContextCacheFile.preparedTrimPath(besides: $0)] } ?? []
        var files: [(path: String, bytes: Int, modified: Date, orphan: Bool)] = []
        for name in names where name.hasSuffix(".kv") || name.hasSuffix(".kv.partial") {
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let modified = (attributes[.modificationDate] as? Date) ?? .distantPast
            let orphan: Bool
            if name.hasSuffix(".partial") {
                // A write in progress, or one a crash left behind (an hour old).
                guard modified < Date(timeIntervalSinceNow: -3600) else { continue }
                orphan = true
            } else {
                let stem = Self.stem(of: name)
                orphan = sessions.map { !FileManager.default.fileExists(atPath: $0.directory + "/" + stem + ".json") } ?? false
            }
            files.append((path, (attributes[.size] as? Int) ?? 0, modified, orphan))
        }
        var total = files.reduce(0) { $0 + $1.bytes }
        var removed: [String] = []
        // Orphans first, then oldest first.
        for file in files.sorted(by: { ($0.orphan ? 0 : 1, $0.modified) < ($1.orphan ? 0 : 1, $1.modified) }) where !kept.contains(file.path) {
            guard file.orphan || total > budget else { break }
            if unlink(file.path) == 0 {
                total -= file.bytes
                removed.append(file.path)
            }
        }
        return removed
    }
}
