import Foundation

/// The `key = value` text format shared by theme files and the config file (btop style): one setting per
/// line, `#` starts a comment line, values may be wrapped in double quotes. Parsing never throws for a
/// single bad line: it is reported with its line number and the rest of the file still applies, so one
/// typo does not cost the user every other setting.
public struct KeyValueFile: Equatable {
    public struct Problem: Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Settings in file order (a later duplicate wins when read through `subscript`).
    public private(set) var entries: [(key: String, value: String)] = []
    public private(set) var problems: [Problem] = []

    public init(parsing text: String) {
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.trimmingCharacters(in: Self.blanks)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                problems.append(Problem(line: index + 1, message: "expected `key = value`"))
                continue
            }
            let key = line[..<equals].trimmingCharacters(in: Self.blanks).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: Self.blanks)
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = String(value.dropFirst().dropLast())
            } else if value.hasPrefix("\"") {
                problems.append(Problem(line: index + 1, message: "unterminated quote"))
                continue
            }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                problems.append(Problem(line: index + 1, message: "bad key"))
                continue
            }
            entries.append((key, value))
        }
    }

    private static let blanks = CharacterSet(charactersIn: " \t\r")

    public subscript(key: String) -> String? {
        entries.last { $0.key == key }?.value
    }

    public static func == (a: KeyValueFile, b: KeyValueFile) -> Bool {
        a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.value) == b.entries.map(\.value) && a.problems == b.problems
    }
}
