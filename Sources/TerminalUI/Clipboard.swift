import Foundation

/// Copying to the user's clipboard with OSC 52, the escape sequence terminals (xterm, kitty, iTerm2,
/// WezTerm, Windows Terminal, …) accept from programs. It works over SSH because it travels with the
/// output. Inside tmux the sequence is sent twice: plain (taken when tmux's `set-clipboard` is on) and
/// wrapped in tmux's passthrough (taken when `allow-passthrough` is on); a terminal ignores what it
/// does not understand.
public enum Clipboard {
    /// Terminals cap OSC 52 payloads (xterm: 100 000 bytes of base64 by default); beyond this we refuse
    /// rather than send something a terminal silently truncates.
    public static let maximumBytes = 74_000

    public static func sequence(copying text: String, insideTmux: Bool) -> String {
        let payload = Data(text.utf8).base64EncodedString()
        let osc = "\u{1B}]52;c;\(payload)\u{07}"
        guard insideTmux else { return osc }
        let wrapped = "\u{1B}Ptmux;" + osc.replacingOccurrences(of: "\u{1B}", with: "\u{1B}\u{1B}") + "\u{1B}\\"
        return osc + wrapped
    }
}
