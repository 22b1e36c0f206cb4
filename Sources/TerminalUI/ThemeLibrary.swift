import Essentials
import Foundation

/// Finds theme files: `$XDG_CONFIG_HOME/qwentty/themes/` (the user's own), `./themes/` (a checkout), and
/// the shipped themes of the running binary (`ShippedFiles`: installed or in its checkout). The first
/// folder holding `NAME.theme` wins, so a user can shadow a shipped theme.
public struct ThemeLibrary {
    public let directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let user = (AppConfig.path(environment: environment) as NSString).deletingLastPathComponent + "/themes"
        self.init(directories: [user, "themes"] + ShippedFiles.directories("themes"))
    }

    /// Names of every theme found, sorted.
    public func names() -> [String] {
        var names = Set<String>()
        for dir in directories {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".theme") {
                names.insert(String(file.dropLast(".theme".count)))
            }
        }
        return names.sorted()
    }

    /// Loads theme `name`. Errors are one line: which theme, which file, what is wrong.
    public func load(_ name: String) throws -> Theme {
        guard !name.isEmpty, !name.contains("/") else {
            throw Theme.ThemeError.problems(name: name, ["a theme is named by its file name without .theme"])
        }
        for dir in directories {
            let path = dir + "/" + name + ".theme"
            // A FIFO or folder named like a theme is not one (reading a FIFO would wait forever).
            guard RegularFile.problem(at: path) == nil, let data = FileManager.default.contents(atPath: path) else { continue }
            guard let text = String(validating: data, as: UTF8.self) else {
                throw Theme.ThemeError.problems(name: name, ["\(path) is not UTF-8 text"])
            }
            return try Theme(name: name, parsing: text)
        }
        let known = names()
        throw Theme.ThemeError.problems(name: name, ["no \(name).theme found" + (known.isEmpty ? "" : " (available: \(known.joined(separator: ", ")))")])
    }
}
