import ArgumentParser
import Foundation
import Essentials

@main
struct Qwentty: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwentty",
        abstract: "Chat with a small Qwen model on the CPU, in pure Swift.",
        version: Qwentty.version,
        subcommands: [ChatCommand.self, RunCommand.self, BenchCommand.self, QuantizeCommand.self, ConvertCommand.self, SentimentCommand.self, TokenizeCommand.self, InfoCommand.self],
        defaultSubcommand: ChatCommand.self
    )

    /// The release, as `qwentty --version` prints it.
    static let version = "0.5.0"

    /// ArgumentParser's `main`, except that a failure's message is sanitised before it reaches the
    /// terminal: errors quote the model file (its architecture name, tokenizer strings, tensor names) and
    /// the command line, and either may hold escape sequences that would retitle or clear the screen.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }  // help and the like: our own text, on stdout
            let message = fullMessage(for: error)
            if !message.isEmpty { writeErr(TerminalSanitizer.sanitize(message) + "\n") }
            Foundation.exit(code.rawValue)
        }
    }
}

/// A failure to report as one line (the message says what is wrong and what to do).
struct UserFacingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
