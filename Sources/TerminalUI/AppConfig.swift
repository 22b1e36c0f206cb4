import Essentials
import Foundation
import Inference

/// The user's settings file, `$XDG_CONFIG_HOME/qwentty/config` (by default `~/.config/qwentty/config`),
/// in the same `key = value` format as themes. Command-line options win over it. A bad line is reported
/// and skipped; the other settings still apply.
public struct AppConfig: Equatable {
    public var model: String?
    public var theme: String?
    public var threads: Int?
    public var contextSize: Int?
    /// Sampling, checked as every other source of it is (`SamplingParameter`): `temp`, `top_k`, `top_p`,
    /// `min_p`, `repeat_penalty`.
    public var sampling: [SamplingParameter: Double] = [:]
    public var temperature: Float? { sampling[.temperature].map(Float.init) }
    /// Most tokens in one reply (`-n`).
    public var maxTokens: Int?
    public var systemPrompt: String?
    public var mouse: Bool?
    public var statsPane: Bool?
    /// Qwen3: whether the model thinks before answering (`think = off` answers at once, as `/think off`).
    public var thinking: Bool?
    /// Bytes the saved chats' context caches may take (`context_cache = 2G`; 0 or `off`: none are kept).
    public var contextCacheBudget: Int?
    /// Problems found, one line each, naming the file and line.
    public var problems: [String] = []

    public static let keys = ["model", "theme", "threads", "ctx_size", "temp", "top_k", "top_p", "min_p", "repeat_penalty",
                              "max_tokens", "system", "mouse", "stats", "think", "context_cache"]

    public init() {}

    /// "2G", "512M", "100K", "1048576", "0" or "off" (binary units), up to 1 TiB.
    static func byteSize(_ text: String) -> Int? {
        let value = text.trimmingCharacters(in: .whitespaces).uppercased()
        if value == "OFF" { return 0 }
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024]
        var digits = Substring(value)
        if digits.hasSuffix("B"), digits.count > 1, units[digits[digits.index(before: digits.index(before: digits.endIndex))]] != nil {
            digits = digits.dropLast()
        }
        var scale = 1.0
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits = digits.dropLast()
        }
        guard let number = Double(digits), number.isFinite, number >= 0 else { return nil }
        let bytes = number * scale
        guard bytes <= Double(1 << 40) else { return nil }
        return Int(bytes)
    }

    public static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return base + "/qwentty/config"
    }

    /// Reads the file at `path`; a missing file is an empty config, not an error.
    public static func load(path: String) -> AppConfig {
        switch RegularFile.problem(at: path) {
        case nil: break
        case "does not exist"?: return AppConfig()
        case let problem?:
            var config = AppConfig()
            config.problems = ["\(path): \(problem); using the defaults"]
            return config
        }
        guard let data = FileManager.default.contents(atPath: path) else { return AppConfig() }
        return AppConfig(parsing: String(decoding: data, as: UTF8.self), source: path)
    }

    public init(parsing text: String, source: String) {
        let file = KeyValueFile(parsing: text)
        problems = file.problems.map { "\(source): \($0)" }
        func problem(_ key: String, _ message: String) { problems.append("\(source): \(key): \(message)") }
        func flag(_ key: String, _ value: String) -> Bool? {
            switch value.lowercased() {
            case "on", "true", "yes", "1": return true
            case "off", "false", "no", "0": return false
            default: problem(key, "expected on or off, got \(value)"); return nil
            }
        }
        func number(_ parameter: SamplingParameter, _ key: String, _ value: String) -> Double? {
            do {
                return try parameter.parse(value)
            } catch {
                problem(key, "expected \(parameter.expected), got \(value)")
                return nil
            }
        }
        for (key, value) in file.entries {
            switch key {
            case "model": model = value.isEmpty ? nil : value
            case "theme": theme = value.isEmpty ? nil : value
            case "threads":
                if let n = Int(value), (1 ... 256).contains(n) { threads = n } else { problem(key, "expected 1…256, got \(value)") }
            case "ctx_size":
                if let n = number(.contextSize, key, value) { contextSize = Int(n) }
            case "temp", "top_k", "top_p", "min_p", "repeat_penalty":
                if let parameter = SamplingParameter.named(key), let v = number(parameter, key, value) { sampling[parameter] = v }
            case "max_tokens":
                if let n = number(.maxTokens, key, value) { maxTokens = Int(n) }
            case "system": systemPrompt = value.isEmpty ? nil : value.replacingOccurrences(of: "\\n", with: "\n")
            case "mouse": mouse = flag(key, value)
            case "stats": statsPane = flag(key, value)
            case "think": thinking = flag(key, value)
            case "context_cache":
                if let bytes = Self.byteSize(value) { contextCacheBudget = bytes } else {
                    problem(key, "expected a size such as 2G, 500M or off, got \(value)")
                }
            default: problem(key, "unknown setting (known: \(Self.keys.joined(separator: ", ")))")
            }
        }
    }
}
