import Foundation

/// A `/command` typed in the input line. Parsing is separate from acting so it is tested without a
/// terminal and the help text lists exactly what parses.
public enum SlashCommand: Equatable {
    case help
    case clear
    /// nil: show the current prompt; `.some(nil)`: back to the model's own; text: set it.
    case system(String??)
    case regenerate
    /// Go on with the last reply where it stopped.
    case continueReply
    /// nil: show the settings.
    case set(Setting?)
    /// Settings, context size, system prompt and the chat's name.
    case show
    case edit
    case save(path: String?)
    /// Saved conversations: list, open one (by number or name), name the current one, delete one.
    case sessions
    case load(String)
    case rename(String)
    case delete(String)
    case copy(CopyTarget)
    /// nil: list the themes.
    case theme(String?)
    case stats
    /// nil: details of the model; a path: switch to that model file.
    case model(String?)
    case mouse
    /// Qwen3's reasoning: `/think on|off` lets the model think or not; `show|hide` unfolds or folds it.
    /// nil: say how things stand.
    case think(ThinkSetting?)
    case quit
    case unknown(String)
    /// A known command with arguments it cannot take; the message says what it expects.
    case invalid(String)

    /// `/set KEY VALUE`.
    public struct Setting: Equatable {
        public let key: String
        public let value: String
    }

    public enum ThinkSetting: String, Equatable { case on, off, show, hide }

    public enum CopyTarget: Equatable {
        /// The n-th reply counted back from the last (1 = the last reply).
        case reply(Int)
        /// The last fenced code block of the most recent reply that has one.
        case code
    }

    /// One line per command, for /help and the help overlay.
    public static let summary: [(usage: String, what: String)] = [
        ("/help", "this help (also F1, or ? on an empty line)"),
        ("/clear", "start a new conversation"),
        ("/system [TEXT|default]", "show or set the system prompt"),
        ("/regen", "answer the last message again"),
        ("/continue", "go on with the last reply where it stopped"),
        ("/edit", "take back the last exchange to edit it"),
        ("/save [FILE]", "export the chat as markdown"),
        ("/copy [N|code]", "copy reply N (1 = last) or its code (OSC 52)"),
        ("/sessions", "list saved chats (newest first)"),
        ("/load N|NAME", "open a saved chat"),
        ("/rename NAME", "name this chat (--resume NAME finds it)"),
        ("/delete N|NAME", "delete a saved chat"),
        ("/set [KEY VALUE]", "show or set temp, top_k, top_p, min_p, repeat_penalty, max_tokens, ctx, system"),
        ("/show", "the settings, context size, system prompt and chat name"),
        ("/theme [NAME]", "list themes or switch"),
        ("/stats", "toggle the stats pane (also F2)"),
        ("/model [FILE]", "model details, or switch to another model file"),
        ("/mouse", "mouse capture on/off (off: terminal selects)"),
        ("/think [on|off|show|hide]", "Qwen3: let the model think first or not; unfold or fold its thinking"),
        ("/quit", "leave (also Ctrl-D)"),
    ]

    /// nil when `line` is not a command (does not start with "/"). "//text" sends "/text" as a message.
    public static func parse(_ line: String) -> SlashCommand? {
        guard line.hasPrefix("/"), !line.hasPrefix("//") else { return nil }
        let body = line.dropFirst()
        let name = String(body.prefix { !$0.isWhitespace }).lowercased()
        let argument = body.dropFirst(name.count).trimmingCharacters(in: .whitespacesAndNewlines)
        let hasArgument = !argument.isEmpty
        func noArgument(_ command: SlashCommand) -> SlashCommand {
            hasArgument ? .invalid("/\(name) takes no argument") : command
        }
        switch name {
        case "help", "?": return noArgument(.help)
        case "clear", "new": return noArgument(.clear)
        case "system":
            if !hasArgument { return .system(nil) }
            return .system(argument.lowercased() == "default" ? .some(nil) : .some(argument))
        case "regen", "regenerate", "retry": return noArgument(.regenerate)
        case "continue", "cont": return noArgument(.continueReply)
        case "show": return noArgument(.show)
        case "set":
            if !hasArgument { return .set(nil) }
            let parts = argument.split(whereSeparator: \.isWhitespace)
            guard parts.count == 2 else { return .invalid("/set takes a setting and a value, e.g. /set temp 0.2 (/set alone lists them)") }
            return .set(Setting(key: String(parts[0]), value: String(parts[1])))
        case "edit": return noArgument(.edit)
        case "save": return .save(path: hasArgument ? argument : nil)
        case "sessions": return noArgument(.sessions)
        case "load", "open": return hasArgument ? .load(argument) : .invalid("/load takes a chat's number or name (/sessions lists them)")
        case "rename", "name": return hasArgument ? .rename(argument) : .invalid("/rename takes the new name")
        case "delete": return hasArgument ? .delete(argument) : .invalid("/delete takes a chat's number or name (/sessions lists them)")
        case "copy":
            if !hasArgument { return .copy(.reply(1)) }
            if argument.lowercased() == "code" { return .copy(.code) }
            if let n = Int(argument), n >= 1 { return .copy(.reply(n)) }
            return .invalid("/copy takes a reply number (1 = last) or `code`")
        case "theme": return .theme(hasArgument ? argument : nil)
        case "stats": return noArgument(.stats)
        case "model": return .model(hasArgument ? argument : nil)
        case "mouse": return noArgument(.mouse)
        case "think":
            if !hasArgument { return .think(nil) }
            guard let setting = ThinkSetting(rawValue: argument.lowercased()) else { return .invalid("/think takes on, off, show or hide") }
            return .think(setting)
        case "quit", "exit", "q": return noArgument(.quit)
        default: return .unknown("/" + name)
        }
    }
}
