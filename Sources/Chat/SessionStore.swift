import Essentials
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
        paths().first
    }

    /// One saved conversation as `/sessions` lists it.
    public struct Summary: Equatable {
        public let path: String
        public let name: String?
        public let modified: Date
        /// The first line of the first message (what the chat was about).
        public let firstLine: String
        /// User messages.
        public let turns: Int
    }

    /// Every saved conversation, newest first (N in `--resume N` and `/load N` counts from 1 here).
    /// Files that cannot be read are left out.
    public func list() -> [Summary] {
        paths().compactMap { path in
            guard let chat = try? load(path) else { return nil }
            let first = chat.conversation.messages.first { $0.role == .user }?.text ?? ""
            return Summary(path: path, name: chat.name, modified: modified(path),
                           firstLine: String(first.split(separator: "\n", omittingEmptySubsequences: true).first ?? ""),
                           turns: chat.conversation.userMessageCount)
        }
    }

    /// The conversation `selector` names: a number (1 = the newest) or a name given with `/rename`
    /// (exact, ignoring case).
    public func path(for selector: String) throws -> String {
        let all = list()
        if let n = Int(selector) {
            guard n >= 1, n <= all.count else {
                throw AtomicFile.FileError(description: "no saved conversation number \(n): there are \(all.count) (/sessions lists them)")
            }
            return all[n - 1].path
        }
        guard let match = all.first(where: { $0.name?.caseInsensitiveCompare(selector) == .orderedSame }) else {
            throw AtomicFile.FileError(description: "no saved conversation named '\(selector)' (/sessions lists them)")
        }
        return match.path
    }

    /// Deletes a saved conversation.
    public func delete(_ path: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw AtomicFile.FileError(description: "\(path): cannot delete (\(error.localizedDescription))")
        }
    }

    private func paths() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }
            .map { directory + "/" + $0 }
            .sorted { (modified($0), $0) > (modified($1), $1) }
    }

    public func load(_ path: String) throws -> SavedChat {
        // A FIFO named like a chat would block the read forever: refused by what it is.
        if let problem = RegularFile.problem(at: path) {
            throw AtomicFile.FileError(description: "\(path): \(problem)")
        }
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
