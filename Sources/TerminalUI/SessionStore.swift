import Foundation

/// Where conversations are kept between runs: `$XDG_STATE_HOME/qwentty/sessions/` (by default
/// `~/.local/state/qwentty/sessions/`), one JSON file per conversation, rewritten atomically after every
/// message so a crash or a killed SSH session loses nothing that was on the screen.
public struct SessionStore {
    public let directory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        directory = state + "/qwentty/sessions"
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// A new file name for a conversation started at `date` (sortable, so the newest is the last).
    public func newPath(startedAt date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return directory + "/" + formatter.string(from: date) + "-\(getpid()).json"
    }

    public func save(_ chat: SavedChat, to path: String) throws {
        try AtomicFile.makeDirectory(directory)
        try AtomicFile.write(try chat.json() + "\n", to: path)
    }

    /// The most recently written conversation, if any.
    public func latestPath() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }
            .map { directory + "/" + $0 }
            .max { modified($0) < modified($1) }
    }

    public func load(_ path: String) throws -> SavedChat {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AtomicFile.FileError(description: "\(path): cannot read the saved session")
        }
        do {
            return try SavedChat(json: data)
        } catch {
            throw AtomicFile.FileError(description: "\(path): not a qwentty session file (\(error.localizedDescription))")
        }
    }

    private func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}
