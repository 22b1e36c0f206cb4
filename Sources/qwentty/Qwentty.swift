import ArgumentParser

@main
struct Qwentty: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwentty",
        abstract: "Chat with a small Qwen model on the CPU, in pure Swift.",
        subcommands: [ChatCommand.self, RunCommand.self, BenchCommand.self, QuantizeCommand.self, SentimentCommand.self, TokenizeCommand.self, InfoCommand.self],
        defaultSubcommand: ChatCommand.self
    )
}

/// A failure to report as one line (the message says what is wrong and what to do).
struct UserFacingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
