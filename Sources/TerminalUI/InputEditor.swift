/// The message being typed: a multi-line buffer with a cursor, readline-style editing and history.
/// Pure logic; the screen draws `text` and puts the cursor at `cursor`.
public struct InputEditor {
    public private(set) var characters: [Character] = []
    public private(set) var cursor = 0
    private var history: [String] = []
    private var historyIndex: Int?
    private var draft: [Character] = []

    public init() {}

    public var text: String { String(characters) }
    public var isEmpty: Bool { characters.isEmpty }

    public mutating func insert(_ string: String) {
        characters.insert(contentsOf: Array(string), at: cursor)
        cursor += string.count
    }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        characters.remove(at: cursor - 1)
        cursor -= 1
    }

    public mutating func deleteForward() {
        guard cursor < characters.count else { return }
        characters.remove(at: cursor)
    }

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(characters.count, cursor + 1) }

    /// Ctrl-A / Home: start of the current line.
    public mutating func moveToLineStart() {
        while cursor > 0, characters[cursor - 1] != "\n" { cursor -= 1 }
    }

    /// Ctrl-E / End: end of the current line.
    public mutating func moveToLineEnd() {
        while cursor < characters.count, characters[cursor] != "\n" { cursor += 1 }
    }

    /// Ctrl-K: delete to the end of the line.
    public mutating func killToLineEnd() {
        var end = cursor
        while end < characters.count, characters[end] != "\n" { end += 1 }
        characters.removeSubrange(cursor ..< end)
    }

    /// Ctrl-U: delete to the start of the line.
    public mutating func killToLineStart() {
        var start = cursor
        while start > 0, characters[start - 1] != "\n" { start -= 1 }
        characters.removeSubrange(start ..< cursor)
        cursor = start
    }

    /// Ctrl-W: delete the word before the cursor (and the spaces after it).
    public mutating func killWordBackward() {
        var start = cursor
        while start > 0, characters[start - 1] == " " { start -= 1 }
        while start > 0, characters[start - 1] != " ", characters[start - 1] != "\n" { start -= 1 }
        characters.removeSubrange(start ..< cursor)
        cursor = start
    }

    /// Enter: returns the text to send (nil when blank) and clears the editor, remembering it in history.
    public mutating func submit() -> String? {
        let value = text
        guard !value.allSatisfy(\.isWhitespace) else {
            characters = []
            cursor = 0
            return nil
        }
        if history.last != value { history.append(value) }
        characters = []
        cursor = 0
        historyIndex = nil
        return value
    }

    /// Up: the previous history entry (the unsent draft is kept and comes back on Down).
    public mutating func historyPrevious() {
        guard !history.isEmpty else { return }
        if historyIndex == nil { draft = characters }
        let index = max(0, (historyIndex ?? history.count) - 1)
        historyIndex = index
        characters = Array(history[index])
        cursor = characters.count
    }

    public mutating func historyNext() {
        guard let index = historyIndex else { return }
        if index + 1 < history.count {
            historyIndex = index + 1
            characters = Array(history[index + 1])
        } else {
            historyIndex = nil
            characters = draft
        }
        cursor = characters.count
    }

    /// Line and display column of the cursor when the text is shown `width` columns wide (no wrapping of
    /// the input beyond explicit newlines is done here; the screen scrolls the input horizontally).
    public var cursorLineAndColumn: (line: Int, column: Int) {
        var line = 0, column = 0
        for c in characters[0 ..< cursor] {
            if c == "\n" { line += 1; column = 0 } else { column += DisplayWidth.of(c) }
        }
        return (line, column)
    }
}
